"""Entry points of the child processes the tests spawn (importable, so ``spawn`` can run them)."""

from __future__ import annotations

import os
import signal
import time
from multiprocessing.synchronize import Barrier, Event
from pathlib import Path

from spendcast.monitoring import Recorder
from spendcast.monitoring.database import Database
from tests.monitoring.support import sample


def create_schema(database_url: str, barrier: Barrier) -> None:
    database = Database(database_url)
    barrier.wait()
    database.create_schema()
    database.close()


def record_and_stop(
    database_url: str, journal_dir: str, tag: str, rows: int, barrier: Barrier
) -> None:
    recorder = Recorder(database_url, Path(journal_dir), batch_size=50, flush_seconds=0.05)
    barrier.wait()
    recorder.start()
    for index in range(rows):
        recorder.record(sample(index, tag))
    recorder.stop()


def record_and_hang(
    database_url: str, journal_dir: str, rows: int, batch_size: int, recorded: Event
) -> None:
    """Record, tell the parent, then wait to be SIGKILLed (or kill itself after a minute)."""
    recorder = Recorder(database_url, Path(journal_dir), batch_size=batch_size, flush_seconds=3600)
    recorder.start()
    for index in range(rows):
        recorder.record(sample(index, "killed"))
    recorded.set()
    time.sleep(60)
    os.kill(os.getpid(), signal.SIGKILL)
