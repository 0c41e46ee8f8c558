"""``kill -9`` of a worker under load: every request answered 200 had its row journaled before
the answer, so after a restart on the same journal and database it is there, exactly once.

Requests in flight at the kill get a transport error, not a 200: their rows may or may not
exist (the journal line may have been written just before the kill), and are not counted.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from pathlib import Path

import pytest

from spendcast.monitoring import count_rows
from tests.reliability.support import (
    Load,
    journaled_bytes,
    recorded_incomes,
    recorder_metrics,
    recorder_status,
    serve,
    wait_until,
)
from tests.support.server import worker_pids

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.mark.parametrize("workers", [1, 2])
def test_rows_of_a_worker_killed_under_load_are_recovered_once(
    workdir: Path, postgres_url: str, workers: int
) -> None:
    # One worker: nothing is committed before the kill, the journal is the only copy of every
    # row. Two: rows are committed every second, so the survivors' backlog can drain to 0.
    env = {
        "SPENDCAST_DATABASE_URL": postgres_url,
        "SPENDCAST_RECORDER_FLUSH_SECONDS": "60" if workers == 1 else "1",
        "SPENDCAST_RECORDER_BATCH_SIZE": "1000000",
    }
    with serve(workdir, workers=workers, env=env) as server, Load(server.url) as load:
        load.wait_for(400)
        pids = worker_pids(server) if workers > 1 else [server.process.pid]
        assert len(pids) == workers
        # The worker holding the most journaled rows: uvicorn may route every connection to one.
        sizes = journaled_bytes(workdir / "journal")
        victim = max(pids, key=lambda pid: sizes.get(pid, 0))
        assert sizes[victim] > 0
        os.kill(victim, signal.SIGKILL)
        if workers == 1:
            assert server.process.wait(10) == -signal.SIGKILL
            load.stop()
            assert count_rows(postgres_url) == 0  # the journal holds the only copy
        else:
            # uvicorn starts a new worker, whose recorder replays the dead one's journal.
            wait_until(lambda: len(set(worker_pids(server)) - set(pids)) == 1, 60)
            load.wait_for(300)
            metrics = recorder_metrics
            wait_until(lambda: metrics(server)["replayed_total"] > 0, 30, "replay by respawn")
            load.stop()
            # The dead worker's last backlog must not linger in the totals.
            wait_until(lambda: recorder_metrics(server)["backlog"] == 0, 30, "metrics backlog 0")
            assert server.stop() == 0

    # Restart on the same journal directory and database: the journal is replayed.
    with serve(workdir, workers=workers, env=env) as server:
        replayed = recorder_status(server)["replayed"]
        assert server.stop() == 0

    incomes = recorded_incomes(postgres_url)
    duplicates = [income for income, n in Counter(incomes).items() if n > 1]
    assert duplicates == []
    answered = set(load.ok)
    assert answered <= set(incomes)  # no 200 lost
    assert set(incomes) - answered <= set(load.failed)  # extra rows: only requests cut by the kill
    if workers == 1:
        assert replayed > 0
    assert list((workdir / "journal").iterdir()) == []
