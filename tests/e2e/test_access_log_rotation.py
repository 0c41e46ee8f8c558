"""The API log survives a logrotate-style rotation of the real server under load: the file is
renamed while requests flow, no line is lost, and what comes after goes to the new file.
SIGHUP (what a ``postrotate`` sends) reopens the file and never stops the server."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.support.server import Server, running_server

pytestmark = pytest.mark.e2e

LAB_URL = "/predict?education=PhD&age=12&income=1000"


class Load:
    """GET /predict in a loop from two threads, counting every answer."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.answers: list[int] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run) for _ in range(2)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while not self._stop.is_set():
                self.answers.append(client.get(LAB_URL).status_code)

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + 60
        while len(self.answers) < count:
            assert time.monotonic() < deadline, "the load did not get its answers"
            time.sleep(0.01)


def _calls(path: Path) -> list[str]:
    """The log lines of this test's calls (the launcher's readiness checks left out)."""
    return [line for line in path.read_text().splitlines() if " GET /ready " not in line]


def _markers(server: Server, count: int) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for i in range(count):
            assert client.get(f"/after-rotation-{i}").status_code == 404


def test_a_log_renamed_under_load_loses_no_line_and_new_lines_go_to_the_new_file(
    workdir: Path,
) -> None:
    with running_server(workdir, workers=2) as server:
        log = server.log_path
        rotated = log.with_name(log.name + ".1")
        with Load(server.url) as load:
            load.wait_for(200)
            log.rename(rotated)  # logrotate's default (create) mode, under load
            load.wait_for(len(load.answers) + 200)
            _markers(server, 50)  # every one queued after the rename
        assert server.stop() == 0
    old, new = _calls(rotated), _calls(log)
    assert set(load.answers) == {200}
    assert len(old) + len(new) == len(load.answers) + 50  # no line lost, none doubled
    assert sum(" GET /predict 200 " in line for line in old + new) == len(load.answers)
    assert sum(" /after-rotation-" in line for line in new) == 50  # all in the new file
    assert not any(" /after-rotation-" in line for line in old)
    assert sum(" GET /predict 200 " in line for line in new) > 0  # the load went on there


def test_sighup_reopens_the_log_and_keeps_serving(workdir: Path) -> None:
    with running_server(workdir) as server:
        log = server.log_path
        with Load(server.url) as load:
            load.wait_for(100)
            log.rename(log.with_name(log.name + ".1"))
            server.process.send_signal(signal.SIGHUP)
            load.wait_for(len(load.answers) + 100)
        assert server.process.poll() is None  # SIGHUP did not kill it
        _markers(server, 10)
        assert server.stop() == 0
    old, new = _calls(log.with_name(log.name + ".1")), _calls(log)
    assert set(load.answers) == {200}
    assert len(old) + len(new) == len(load.answers) + 10
    assert sum(" /after-rotation-" in line for line in new) == 10
