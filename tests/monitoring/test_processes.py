"""Several processes on one database, and a process killed with SIGKILL before it flushed."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from spendcast.monitoring import Recorder, count_rows, read_rows
from spendcast.monitoring.table import schema_exists
from tests.monitoring import workers
from tests.monitoring.support import sample

spawn = multiprocessing.get_context("spawn")
PROCESSES = 4


def run_all(processes: list[multiprocessing.process.BaseProcess]) -> None:
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
        assert process.exitcode == 0


def test_schema_created_by_several_processes_at_once(database_url: str) -> None:
    barrier = spawn.Barrier(PROCESSES)
    run_all(
        [
            spawn.Process(target=workers.create_schema, args=(database_url, barrier))
            for _ in range(PROCESSES)
        ]
    )
    engine = create_engine(database_url)
    assert schema_exists(engine)
    engine.dispose()
    assert count_rows(database_url) == 0


def test_processes_recording_at_once_give_the_exact_total(
    database_url: str, journal_dir: Path
) -> None:
    rows = 400
    barrier = spawn.Barrier(PROCESSES)
    run_all(
        [
            spawn.Process(
                target=workers.record_and_stop,
                args=(database_url, str(journal_dir), f"p{n}", rows, barrier),
            )
            for n in range(PROCESSES)
        ]
    )
    ids = [row["id"] for row in read_rows(database_url)]
    assert len(ids) == PROCESSES * rows
    assert set(ids) == {sample(i, f"p{n}").id for n in range(PROCESSES) for i in range(rows)}
    assert list(journal_dir.iterdir()) == []


@pytest.mark.parametrize("batch_size", [1_000_000, 7], ids=["nothing-committed", "some-committed"])
def test_rows_of_a_killed_process_are_replayed_once(
    database_url: str, journal_dir: Path, batch_size: int
) -> None:
    rows = 250
    recorded = spawn.Event()
    child = spawn.Process(
        target=workers.record_and_hang,
        args=(database_url, str(journal_dir), rows, batch_size, recorded),
    )
    child.start()
    assert recorded.wait(120)
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    child.join(30)
    assert child.exitcode == -signal.SIGKILL
    committed_before = count_rows(database_url)
    if batch_size == 1_000_000:
        assert committed_before == 0

    with Recorder(database_url, journal_dir) as recorder:
        stats = recorder.stats()
    assert stats.replayed == rows
    assert stats.written == 0
    ids = [row["id"] for row in read_rows(database_url)]
    assert sorted(ids) == [sample(i, "killed").id for i in range(rows)]
    assert list(journal_dir.iterdir()) == []


def test_several_recorders_starting_together_replay_an_orphan_once(
    sqlite_url: str, journal_dir: Path
) -> None:
    recorded = spawn.Event()
    child = spawn.Process(
        target=workers.record_and_hang,
        args=(sqlite_url, str(journal_dir), 100, 1_000_000, recorded),
    )
    child.start()
    assert recorded.wait(120)
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    child.join(30)

    recorders = [Recorder(sqlite_url, journal_dir) for _ in range(3)]
    starters = [threading.Thread(target=recorder.start) for recorder in recorders]
    for starter in starters:
        starter.start()
    for starter in starters:
        starter.join()
    for recorder in recorders:
        recorder.stop()
    assert sum(recorder.stats().replayed for recorder in recorders) == 100
    assert count_rows(sqlite_url) == 100
