"""PostgreSQL cut for seconds under load, behind a TCP proxy: the API keeps answering 200, rows
wait and spill to the journal, ``/ready`` answers 503 "database unreachable" so that a load
balancer can move traffic away, and once it is back every answered row lands exactly once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from spendcast.monitoring import count_rows
from tests.reliability.support import (
    Load,
    readiness,
    recorded_incomes,
    recorder_metrics,
    recorder_status,
    serve,
    wait_until,
)
from tests.support.postgres import TcpProxy

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

OUTAGE_SECONDS = 4.0
BUFFER_ROWS = 100  # per worker: a few seconds of load overflow it, so rows really spill


@pytest.mark.parametrize("workers", [1, 2])
def test_database_outage_under_load_loses_and_duplicates_nothing(
    workdir: Path, postgres_url: str, proxied_url: str, proxy: TcpProxy, workers: int
) -> None:
    env = {
        "SPENDCAST_DATABASE_URL": proxied_url,
        "SPENDCAST_RECORDER_BUFFER_ROWS": str(BUFFER_ROWS),
    }
    with serve(workdir, workers=workers, env=env) as server, Load(server.url) as load:
        load.wait_for(200)
        wait_until(lambda: count_rows(postgres_url) > 0, what="rows written before the cut")

        proxy.cut()
        cut_at, answered_before = time.monotonic(), len(load.ok)
        down: list[dict[str, int]] = []
        ready_down: list[tuple[int, list[str]]] = []
        while time.monotonic() - cut_at < OUTAGE_SECONDS:
            down.append(recorder_status(server))
            ready_down.append(readiness(server))
            time.sleep(0.2)
        during = recorder_metrics(server)
        answered_during = len(load.ok) - answered_before
        proxy.restore()

        load.wait_for(200)  # and more load after the database is back
        load.stop()
        wait_until(
            lambda: count_rows(postgres_url) == len(load.ok), 60, "every 200 written after restore"
        )
        wait_until(lambda: recorder_metrics(server)["backlog"] == 0, 10, "metrics backlog 0")
        wait_until(lambda: readiness(server) == (200, []), 10, "/ready 200 again")
        after = recorder_status(server)
        assert server.stop() == 0

    assert load.failed == []
    assert answered_during > 0  # /predict kept answering 200 while the database was away
    assert any(not status["database_ok"] for status in down)
    assert any(code == 503 and "database unreachable" in why for code, why in ready_down)
    assert max(status["backlog"] for status in down) > 0
    assert max(status["spilled"] for status in down) > 0
    assert during["backlog"] > 0
    assert during["spilled_total"] > 0
    assert after["backlog"] == 0
    assert after["database_ok"] == 1
    assert recorded_incomes(postgres_url) == sorted(load.ok)  # each 200 is exactly one row
    assert list((workdir / "journal").iterdir()) == []
