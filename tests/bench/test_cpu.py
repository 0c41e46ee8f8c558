"""bench.cpu: reading /proc, and finding the workers of a real multi-process server."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from bench.cpu import (
    cpu_seconds,
    descendants,
    parse_children,
    parse_stat_ticks,
    parse_system_busy_ticks,
    snapshot,
    used_between,
    voluntary_switches,
    worker_pids,
)
from bench.servers import ServerSpec, running
from bench.suites import uvicorn_command

ROOT = Path(__file__).resolve().parents[2]
# A real /proc/<pid>/stat line whose command name holds a space and a parenthesis.
STAT = (
    "4242 (uvicorn (w) 1) S 1 4242 4242 0 -1 4194560 5153 0 0 0 "
    "1234 56 0 0 20 0 3 0 77 123456 789 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0"
)


def test_parse_stat_ticks_adds_utime_and_stime() -> None:
    assert parse_stat_ticks(STAT) == 1234 + 56


def test_parse_children() -> None:
    assert parse_children("12 345 6789 \n") == [12, 345, 6789]
    assert parse_children("") == []


def test_own_process_has_used_cpu() -> None:
    sum(i * i for i in range(200_000))
    assert cpu_seconds(os.getpid()) > 0


def test_workers_are_the_children_when_there_are_any() -> None:
    with subprocess.Popen(["sh", "-c", "sleep 30 & sleep 30 & wait"]) as shell:
        try:
            deadline = time.monotonic() + 10
            while len(descendants(shell.pid)) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            children = descendants(shell.pid)
            assert len(children) == 2
            assert worker_pids(shell.pid) == sorted(children)
            assert worker_pids(children[0]) == [children[0]]
        finally:
            for pid in descendants(shell.pid):
                os.kill(pid, signal.SIGTERM)
            shell.wait()


def test_voluntary_switches_count_the_blocking_waits_of_every_thread() -> None:
    with subprocess.Popen(
        ["sh", "-c", "for i in 1 2 3 4 5; do sleep 0.01; done; sleep 30"]
    ) as shell:
        try:
            deadline = time.monotonic() + 10
            while voluntary_switches([shell.pid]) < 5 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert voluntary_switches([shell.pid]) >= 5  # it waited for each of its sleeps
            assert voluntary_switches([shell.pid, 2**22 + 12345]) >= 5  # a vanished pid: 0
        finally:
            shell.kill()
            shell.wait()


def test_used_between_by_pid() -> None:
    assert used_between({2: 1.0, 1: 0.5}, {1: 0.75, 2: 3.0}) == (0.25, 2.0)
    assert used_between({7: 1.0}, {}) == (-1.0,)
    assert snapshot([2**22 + 12345]) == {2**22 + 12345: 0.0}


@pytest.mark.e2e
def test_finds_both_workers_of_uvicorn(tmp_path: Path) -> None:
    spec = ServerSpec("hello-2w", uvicorn_command("bench.hello_asgi:app", 2), workers=2, cwd=ROOT)
    with running(spec, tmp_path) as server:
        assert len(server.workers) == 2
        assert server.process.pid not in server.workers
        assert all(cpu_seconds(pid) >= 0 for pid in server.workers)
    assert server.process.returncode is not None


def test_parse_system_busy_ticks_leaves_out_idle_and_iowait() -> None:
    stat = "cpu  100 5 50 1000 20 3 2 1 0 0\ncpu0 50 2 25 500 10 1 1 0 0 0\n"
    assert parse_system_busy_ticks(stat) == 100 + 5 + 50 + 3 + 2 + 1
