"""The backlog's batches: the writer waits for a full batch, and a full batch wakes it."""

from __future__ import annotations

import threading
from pathlib import Path

from spendcast.monitoring.backlog import Backlog, Entry
from spendcast.monitoring.inference import to_line
from spendcast.monitoring.journal import Journal
from tests.monitoring.support import sample, wait_until

BATCH = 50


def _backlog(journal_dir: Path) -> Backlog:
    backlog = Backlog(
        Journal(journal_dir, fsync=False), buffer_rows=1000, batch_size=BATCH, segment_rows=1000
    )
    backlog.open()
    return backlog


def _add(backlog: Backlog, first: int, count: int) -> None:
    rows = [sample(index) for index in range(first, first + count)]
    backlog.add([to_line(row) for row in rows], rows)


def test_a_batch_completed_while_the_writer_holds_its_first_row_wakes_the_writer(
    tmp_path: Path,
) -> None:
    # The writer took the first row and sleeps until the batch is full (or flush_seconds):
    # the rest of the batch, added now, must wake it, counting the row it holds.
    backlog = _backlog(tmp_path)
    taken: list[list[Entry]] = []
    writer = threading.Thread(target=lambda: taken.append(backlog.take(flush_seconds=3600)))
    _add(backlog, 0, 1)
    writer.start()
    wait_until(lambda: backlog._held == 1)  # the writer holds row 0 and waits for the rest
    _add(backlog, 1, BATCH - 1)
    assert backlog._batch_full.is_set()
    writer.join(timeout=60)  # a hang guard only: the event is set, it returns at once
    assert not writer.is_alive()
    assert [row.id for _, row in taken[0]] == [sample(index).id for index in range(BATCH)]


def test_a_partial_batch_keeps_the_writer_waiting(tmp_path: Path) -> None:
    backlog = _backlog(tmp_path)
    _add(backlog, 0, BATCH - 1)
    assert not backlog._batch_full.is_set()
    assert len(backlog.take(flush_seconds=0.01)) == BATCH - 1  # taken once flush_seconds passed
    _add(backlog, 0, BATCH)
    assert backlog._batch_full.is_set()
