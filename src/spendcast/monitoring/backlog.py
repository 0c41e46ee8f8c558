"""The backlog: rows this process recorded that are not yet known to be in the database.

Each row is appended to the current journal segment, then either queued in memory (up to
``buffer_rows``) or left only in the segment ("spilled": from ``spill_from`` on, every line of
that segment). A segment is deleted once all its rows are committed. Thread-safe: ``add`` runs
in request threads, everything else in the writer thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from queue import Empty, SimpleQueue

from spendcast.errors import RecorderError
from spendcast.monitoring.inference import Inference
from spendcast.monitoring.journal import Journal, Segment

logger = logging.getLogger(__name__)

Entry = tuple[Segment | None, Inference]


class Backlog:
    def __init__(self, journal: Journal, *, buffer_rows: int, batch_size: int, segment_rows: int):
        self.journal = journal
        self.lock = threading.Lock()
        self._queue: SimpleQueue[Entry | None] = SimpleQueue()
        self._batch_full = threading.Event()
        self._buffer_rows = buffer_rows
        self._batch_size = batch_size
        self._segment_rows = segment_rows
        self._segment: Segment | None = None
        self._sealed: list[Segment] = []
        self._refusal: str | None = "the recorder is not started"
        self._rotate_requested = False
        self.in_memory = 0
        self.spill_pending = 0
        self.spilled = 0
        self.dropped = 0

    @property
    def size(self) -> int:
        return self.in_memory + self.spill_pending

    def open(self) -> None:
        self._segment = self.journal.new_segment()
        self._refusal = None

    def refuse(self, reason: str) -> None:
        """Accept no more rows; from now on the current segment is final."""
        with self.lock:
            self._refusal = reason
        self._queue.put(None)  # wakes the writer
        self._batch_full.set()

    @property
    def accepting(self) -> bool:
        return self._refusal is None

    # -- request threads ---------------------------------------------------------------------

    def add(self, lines: Sequence[bytes], rows: Sequence[Inference]) -> None:
        with self.lock:
            if self._refusal is not None:
                raise RecorderError(self._refusal)
            segment = self._segment
            assert segment is not None
            for line, row in zip(lines, rows, strict=True):
                try:
                    segment.append(line)
                except OSError as exc:
                    self._journal_failed(exc, row)
                    continue
                index = segment.written
                segment.written = index + 1
                if segment.spill_from is None and self.in_memory < self._buffer_rows:
                    self.in_memory += 1
                    self._queue.put((segment, row))
                    if self._queue.qsize() >= self._batch_size:
                        self._batch_full.set()
                else:
                    if segment.spill_from is None:
                        segment.spill_from = index
                    self.spilled += 1
                    self.spill_pending += 1

    def _journal_failed(self, exc: OSError, row: Inference) -> None:
        self._rotate_requested = True  # never append after a possibly torn line
        if self.in_memory < self._buffer_rows:
            self.in_memory += 1
            self._queue.put((None, row))
            logger.error("inference log journal write failed, row kept in memory only: %s", exc)
        else:
            self.dropped += 1
            logger.error("inference log row DROPPED (journal write failed, buffer full): %s", exc)

    # -- writer thread -----------------------------------------------------------------------

    def take(self, flush_seconds: float) -> list[Entry]:
        """The next batch: up to ``batch_size`` rows, waiting at most ``flush_seconds``.

        The writer sleeps until the batch is full or due instead of waking for every row:
        a wake-up per row would make each record() pay a GIL hand-off.
        """
        final = not self.accepting
        try:
            first = self._queue.get_nowait() if final else self._queue.get(timeout=0.5)
        except Empty:
            return []
        self._batch_full.clear()
        # Re-read ``accepting`` after clear(): a refuse() that set the event just before it
        # must not leave the writer asleep for flush_seconds (stop() would wait that long).
        if not final and self.accepting and self._queue.qsize() + 1 < self._batch_size:
            self._batch_full.wait(flush_seconds)
        batch = [] if first is None else [first]
        while len(batch) < self._batch_size:
            try:
                item = self._queue.get_nowait()
            except Empty:
                break
            if item is not None:
                batch.append(item)
        return batch

    def committed(self, batch: Sequence[Entry]) -> None:
        with self.lock:
            for segment, _ in batch:
                if segment is not None:
                    segment.committed += 1
            self.in_memory -= len(batch)

    def rotate_if_due(self, idle: bool) -> None:
        """Start a new segment when the current one is full, spilling with room in memory
        again, or idle and fully committed (so that it can be deleted)."""
        with self.lock:
            current = self._segment
            assert current is not None
            due = self.accepting and (
                current.written >= self._segment_rows
                or self._rotate_requested
                or (current.spill_from is not None and self.in_memory <= self._buffer_rows // 2)
                or (idle and 0 < current.written == current.committed)
            )
        if not due:
            return
        fresh = self.journal.new_segment()
        with self.lock:
            current.seal()
            self._sealed.append(current)
            self._segment = fresh
            self._rotate_requested = False

    def spilled_segments(self) -> list[Segment]:
        """Segments whose spilled lines are final (sealed, or current once intake stopped)."""
        with self.lock:
            segments = list(self._sealed)
            if not self.accepting and self._segment is not None:
                segments.append(self._segment)
        return [segment for segment in segments if segment.spill_from is not None]

    def recovered(self, segment: Segment) -> None:
        """The spilled lines of ``segment`` are now in the database."""
        with self.lock:
            assert segment.spill_from is not None
            count = segment.written - segment.spill_from
            segment.committed += count
            segment.spill_from = None
            self.spill_pending -= count

    def delete_done_segments(self) -> None:
        with self.lock:
            done = [segment for segment in self._sealed if segment.done]
            self._sealed = [segment for segment in self._sealed if not segment.done]
            current = self._segment
            if not self.accepting and current is not None and current.written == current.committed:
                current.seal()
                done.append(current)
        for segment in done:
            segment.path.unlink(missing_ok=True)

    def close(self) -> None:
        with self.lock:
            if self._segment is not None:
                self._segment.seal()
        self.journal.close()
