"""``spendcast ui`` as a learner starts it: a real subprocess, its web UI on a free port."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from spendcast.loadtest.run.server_process import free_port

SAVE_TIMEOUT_S = 60.0  # the run directory is written when the test stops (plots included)


@dataclass
class UiProcess:
    url: str
    runs: Path
    process: subprocess.Popen[bytes]
    log: Path

    def stats(self) -> dict[str, Any]:
        response = httpx.get(f"{self.url}/spendcast/stats", timeout=30)
        assert response.status_code == 200, response.text
        document: dict[str, Any] = response.json()
        return document

    def swarm(self, **form: object) -> dict[str, Any]:
        response = httpx.post(f"{self.url}/swarm", data=form, timeout=30)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def wait_for(self, requests: int, timeout: float = 60) -> dict[str, Any]:
        """The stats once the test counted at least ``requests`` since its start."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            document = self.stats()
            if document["since_start"]["total"]["requests"] >= requests:
                return document
            time.sleep(0.25)
        raise AssertionError(f"fewer than {requests} requests: {self.log.read_text()[-2000:]}")

    def stop(self) -> tuple[Path, dict[str, Any]]:
        """Stop the test; its run directory and the stats once it is saved."""
        saved = len(self.stats()["runs"])
        httpx.post(f"{self.url}/stop", timeout=SAVE_TIMEOUT_S)
        return self.saved(saved + 1)

    def saved(self, count: int) -> tuple[Path, dict[str, Any]]:
        deadline = time.monotonic() + SAVE_TIMEOUT_S
        while time.monotonic() < deadline:
            document = self.stats()
            if len(document["runs"]) >= count and not document["saving"]:
                return Path(document["runs"][-1]), document
            time.sleep(0.25)
        raise AssertionError(f"no run directory saved: {self.log.read_text()[-2000:]}")


def summary(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "summary.json").read_text())
    return data


def ui_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "spendcast", "ui", *args]


@contextmanager
def spendcast_ui(tmp_path: Path, *args: str, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> Iterator[UiProcess]:  # fmt: skip
    """Run ``spendcast ui ARGS --web-port <free> --out tmp/runs`` until the block ends
    (then as Ctrl-C: SIGINT, which saves a running test)."""
    port = free_port()
    runs = tmp_path / "runs"
    log = tmp_path / "ui.log"
    command = ui_command(*args, "--web-port", str(port), "--out", str(runs))
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env,
                                   cwd=cwd)  # fmt: skip
        ui = UiProcess(f"http://127.0.0.1:{port}", runs, process, log)
        try:
            _wait_up(ui)
            yield ui
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                process.wait(timeout=120)


def _wait_up(ui: UiProcess, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert ui.process.poll() is None, ui.log.read_text()
        try:
            if httpx.get(f"{ui.url}/spendcast/stats", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(ui.url)


def run_cli(args: Sequence[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "spendcast", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd)  # fmt: skip
