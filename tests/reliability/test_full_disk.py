"""The journal's disk full (a small tmpfs as ``SPENDCAST_JOURNAL_DIR``, filled), alone, with the
database cut and with a worker killed, under load, ``/ready`` polled as a load balancer does.

What must hold: a prediction whose row cannot be kept is answered 503 in the error shape with
``Retry-After`` and leaves no row; ``/ready`` answers 503 with the reasons while it lasts and
200 once disk and database are back; the metrics show the states and count the refusals; and
every 200 is exactly one row, with 1 and 2 workers, even across a ``kill -9``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest

from spendcast.monitoring import count_rows
from tests.reliability.support import (
    Load,
    journaled_bytes,
    readiness,
    recorded_incomes,
    recorder_metrics,
    serve,
    wait_until,
)
from tests.support.postgres import TcpProxy
from tests.support.server import Server, worker_pids
from tests.support.small_disk import SmallDisk

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

BATCH_INCOME = 5_000_000  # POST /predict rows: incomes apart from the Load's


def until_not_ready(server: Server, *reasons: str) -> None:
    """Until some poll of ``/ready`` answers 503 with at least ``reasons``."""

    def seen() -> bool:
        code, why = readiness(server)
        return code == 503 and set(reasons) <= set(why)

    wait_until(seen, 30, f"/ready 503 {reasons}")


def post_batches(server: Server, count: int = 20) -> tuple[list[float], list[float]]:
    """``count`` batches of 5 rows: the incomes answered 200 and those answered 503."""
    ok: list[float] = []
    refused: list[float] = []
    for batch in range(count):
        incomes = [float(BATCH_INCOME + 5 * batch + n) for n in range(5)]
        rows = [{"education": "PhD", "age": 40, "income": income} for income in incomes]
        response = httpx.post(f"{server.url}/predict", json=rows, timeout=10)
        if response.status_code == 503:
            assert response.headers["retry-after"] == "1"
            error = response.json()["error"]
            assert (error["status"], error["code"]) == (503, "unavailable")
            refused += incomes
        else:
            assert response.status_code == 200, response.text
            ok += incomes
    return ok, refused


@pytest.mark.parametrize("workers", [1, 2])
def test_a_full_journal_disk_is_a_503_with_no_row_and_recovers(
    workdir: Path, postgres_url: str, small_disk: SmallDisk, workers: int
) -> None:
    env = {
        "SPENDCAST_DATABASE_URL": postgres_url,
        "SPENDCAST_JOURNAL_DIR": str(small_disk.journal_dir),
    }
    with serve(workdir, workers=workers, env=env) as server, Load(server.url) as load:
        load.wait_for(200)
        small_disk.fill()
        wait_until(lambda: len(load.refused) >= 50, 30, "503s once the disk is full")
        until_not_ready(server, "journal degraded")
        batch_ok, batch_refused = post_batches(server)
        wait_until(lambda: recorder_metrics(server)["journal_degraded"] >= 1, 10, "gauge")
        during = recorder_metrics(server)

        small_disk.free()
        wait_until(lambda: readiness(server) == (200, []), 30, "/ready 200 once the disk has room")
        answered_while_full = len(load.ok)
        load.wait_for(200)
        load.stop()
        wait_until(lambda: count_rows(postgres_url) == len(load.ok) + len(batch_ok), 30, "rows")
        # Each worker copies its state into the gauges when it answers /ready or /metrics and
        # every model poll: a worker that answered neither since its journal recovered has
        # not yet, so wait for it as for the gauge going up.
        wait_until(lambda: recorder_metrics(server)["journal_degraded"] == 0, 10, "gauge back")
        after = recorder_metrics(server)
        assert server.stop() == 0

    assert load.refused
    assert load.retry_after == {"1"}
    assert sorted(load.failed) == sorted(load.refused)  # no other error, no transport error
    assert batch_refused  # a batch is all or nothing: every refused batch left no row
    assert during["predictions_refused_total"] >= len(batch_refused)
    assert during["journal_errors_total"] > 0
    assert len(load.ok) > answered_while_full  # served again after recovery
    assert after["journal_degraded"] == 0
    assert recorded_incomes(postgres_url) == sorted(load.ok + batch_ok)  # each 200 one row
    assert list(small_disk.journal_dir.iterdir()) == []


@pytest.mark.parametrize(("mode", "workers"), [("required", 1), ("best-effort", 2)])
def test_database_cut_and_journal_disk_full_refuse_instead_of_losing(
    workdir: Path,
    postgres_url: str,
    proxied_url: str,
    proxy: TcpProxy,
    small_disk: SmallDisk,
    mode: str,
    workers: int,
) -> None:
    # The scenario: 100 rows of memory per worker, the database cut, the disk full.
    env = {
        "SPENDCAST_DATABASE_URL": proxied_url,
        "SPENDCAST_JOURNAL_DIR": str(small_disk.journal_dir),
        "SPENDCAST_RECORDER_BUFFER_ROWS": "100",
        "SPENDCAST_RECORDER_JOURNAL": mode,
    }
    with serve(workdir, workers=workers, env=env) as server, Load(server.url) as load:
        load.wait_for(150)
        wait_until(lambda: count_rows(postgres_url) > 0, 30, "rows written before the cut")
        proxy.cut()
        until_not_ready(server, "database unreachable")
        load.wait_for(150)  # still 200: the journal takes them
        assert load.refused == []
        small_disk.fill()
        wait_until(lambda: len(load.refused) >= 50, 30, "503s once nothing can keep a row")
        until_not_ready(server, "database unreachable", "journal degraded", "buffer full")
        states = recorder_metrics(server)

        small_disk.free()
        proxy.restore()
        wait_until(lambda: readiness(server) == (200, []), 60, "/ready 200 once both are back")
        load.wait_for(100)
        load.stop()
        wait_until(lambda: count_rows(postgres_url) == len(load.ok), 60, "every 200 written")
        assert server.stop() == 0

    assert states["database_unreachable"] >= 1
    assert states["journal_degraded"] >= 1
    assert states["buffer_full"] >= 1
    assert states["predictions_refused_total"] > 0
    assert sorted(load.failed) == sorted(load.refused)
    assert recorded_incomes(postgres_url) == sorted(load.ok)
    assert list(small_disk.journal_dir.iterdir()) == []


@pytest.mark.parametrize("workers", [1, 2])
def test_kill_9_while_degraded_loses_no_row_answered_200(
    workdir: Path,
    postgres_url: str,
    proxied_url: str,
    proxy: TcpProxy,
    small_disk: SmallDisk,
    workers: int,
) -> None:
    # The database cut first: the journal is the only copy of every row answered 200.
    env = {
        "SPENDCAST_DATABASE_URL": proxied_url,
        "SPENDCAST_JOURNAL_DIR": str(small_disk.journal_dir),
    }
    with serve(workdir, workers=workers, env=env) as server, Load(server.url) as load:
        load.wait_for(100)
        proxy.cut()
        load.wait_for(200)
        small_disk.fill()
        wait_until(lambda: len(load.refused) >= 20, 30, "503s once the disk is full")
        until_not_ready(server, "journal degraded")
        pids = worker_pids(server) if workers > 1 else [server.process.pid]
        sizes = journaled_bytes(small_disk.journal_dir)
        victim = max(pids, key=lambda pid: sizes.get(pid, 0))
        os.kill(victim, signal.SIGKILL)
        if workers == 1:
            assert server.process.wait(10) == -signal.SIGKILL
            load.stop()
        else:
            wait_until(lambda: len(set(worker_pids(server)) - set(pids)) == 1, 60, "respawn")
            small_disk.free()
            proxy.restore()
            wait_until(lambda: _replayed(server) > 0, 60, "replay")
            load.wait_for(100)
            load.stop()
            assert server.stop() == 0

    if workers == 1:
        small_disk.free()
        proxy.restore()
    with serve(workdir, workers=workers, env=env) as server:  # replays what is left
        assert server.stop() == 0

    incomes = recorded_incomes(postgres_url)
    assert [income for income, n in Counter(incomes).items() if n > 1] == []
    answered = set(load.ok)
    assert answered <= set(incomes)  # no 200 lost
    assert not set(incomes) & set(load.refused)  # no row for a 503
    assert set(incomes) - answered <= set(load.failed)  # extra rows: requests cut by the kill
    assert list(small_disk.journal_dir.iterdir()) == []


def test_loadtest_counts_503s_as_failures(workdir: Path, small_disk: SmallDisk) -> None:
    env = {"SPENDCAST_JOURNAL_DIR": str(small_disk.journal_dir)}
    out = workdir / "run"
    with serve(workdir, env=env) as server:
        small_disk.fill()
        result = subprocess.run(
            [
                sys.executable, "-m", "spendcast", "loadtest", "--host", server.url,
                "--users", "2", "--duration", "2s", "--out", str(out), "--slo", "errors<=0%",
            ],
            capture_output=True, text=True, timeout=240, check=False,
        )  # fmt: skip
        assert server.stop() == 0
    summary = json.loads((out / "summary.json").read_text())
    assert result.returncode == 3, result.stdout + result.stderr  # the SLO is breached
    assert summary["requests"] > 0
    assert summary["failures"] == summary["requests"]  # a fresh segment: not one line fits
    assert count_rows(f"sqlite:///{server.database_path}") == 0


def _replayed(server: Server) -> float:
    """Rows replayed from dead workers' journals so far; 0 while no worker answers, as when
    the one just killed is being replaced on a slow box (the test waits, it does not fail)."""
    try:
        return recorder_metrics(server)["replayed_total"]
    except httpx.TransportError:
        return 0.0
