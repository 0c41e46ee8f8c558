"""A user's own locustfile on a master and its worker: same file on both, counts exact.

The worker gets ``-f`` too (the master only sends the user classes' names); the master checks
the sha256 of the file each worker loaded and ends the run (exit code 1) when they differ.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from tests.distributed.support import TOKEN, finish, rows, server_counts, spendcast, summary
from tests.support.server import Server, free_port, running_server
from tests.support.user_locustfiles import FIXED_URL, LAB_STYLE, RANDOM_NAME, write_locustfile

pytestmark = pytest.mark.e2e


def _master(host: str, port: int, locustfile: Path, out: Path) -> list[str]:
    return [
        "loadtest", "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port",
        str(port), "--expect-workers", "1", "--expect-workers-max-wait", "120", "--host", host,
        "-f", str(locustfile), "--users", "3", "--duration", "3s", "--out", str(out), "--quiet",
    ]  # fmt: skip


def _worker(port: int, locustfile: Path) -> list[str]:
    return ["loadtest", "--worker", "--master-host", "127.0.0.1", "--master-port", str(port),
            "-f", str(locustfile)]  # fmt: skip


class _Ran(NamedTuple):
    master_code: int
    master_output: str
    worker_code: int
    worker_output: str
    server_code: int
    server: Server
    out: Path


def _master_and_worker(workdir: Path, master_file: Path, worker_file: Path) -> _Ran:
    """A master with ``master_file`` and one worker with ``worker_file`` against a real API."""
    out, port = workdir / "run", free_port()
    with running_server(workdir, token=TOKEN) as server:
        master = spendcast(*_master(server.url, port, master_file, out))
        worker = spendcast(*_worker(port, worker_file))
        master_code, master_output = finish(master)
        worker_code, worker_output = finish(worker, timeout=60)
        server_code = server.stop()
    return _Ran(master_code, master_output, worker_code, worker_output, server_code, server, out)


def test_master_and_worker_run_the_users_file(workdir: Path) -> None:
    locustfile = write_locustfile(workdir / "perf", LAB_STYLE, "locustfile.py",
                                  base="FastHttpUser", token=TOKEN)  # fmt: skip
    ran = _master_and_worker(workdir, locustfile, locustfile)
    assert ran.server_code in (0, -15)
    assert ran.master_code == 0, ran.master_output
    assert ran.worker_code == 0, ran.worker_output
    data = summary(ran.out)
    assert data["config"]["workers"] == 1
    assert data["config"]["user_classes"] == ["ApiUser"]
    measured = {e["name"]: e["requests"] for e in data["endpoints"]}
    assert data["failures"] == 0
    assert measured[RANDOM_NAME] > 0
    logged = server_counts(ran.server)
    predicted = measured[RANDOM_NAME] + measured[FIXED_URL]
    assert logged[("GET", "/predict")] == predicted == rows(ran.server)
    assert logged[("GET", "/health")] == measured["/health"] + 1  # + the host check


def test_a_worker_with_another_file_ends_the_run(workdir: Path) -> None:
    locustfile = write_locustfile(workdir / "master", LAB_STYLE, "locustfile.py",
                                  base="FastHttpUser", token=TOKEN)  # fmt: skip
    other = write_locustfile(workdir / "worker", LAB_STYLE, "locustfile.py", base="HttpUser",
                             token=TOKEN)  # fmt: skip
    ran = _master_and_worker(workdir, locustfile, other)
    assert ran.master_code == 1, ran.master_output + ran.worker_output
    assert "runs other locustfile content than the master" in ran.master_output
    assert "Traceback" not in ran.master_output
