"""The backlog: rows this process recorded that are not yet known to be in the database.

``add`` appends the lines of its rows to the current journal segment in one write, then queues
the rows in memory (up to ``buffer_rows``) or leaves them only in the segment ("spilled": from
``spill_from`` on, every line of that segment). A segment is deleted once all its rows are
committed. When the write fails (disk full, I/O error) the segment is cut back to its last whole
line and the journal is *degraded* until a write succeeds again; then, with ``journal_required``,
``add`` raises ``InferenceNotKept`` having kept nothing; without it the rows are kept in memory
only ("unjournaled", while the memory buffer has room, else ``InferenceNotKept`` too), and the
writer journals them as soon as the disk takes them, or inserts them, whichever comes first.
So ``add`` either keeps every row it was given or none. A journal whose files vanished
(``watch``, every half second) is *lost*: ``add`` treats it as a failed write until ``watch``
has copied every live segment into the recreated directory. Thread-safe: ``add`` runs in
request threads, ``watch`` in the recorder's watcher thread, everything else in the writer.
The open segments themselves (the current one, the sealed ones) are kept by ``segments``.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
from collections.abc import Sequence
from queue import Empty, SimpleQueue

from spendcast.errors import InferenceNotKept
from spendcast.monitoring.inference import Inference, to_line
from spendcast.monitoring.journal import Journal, Segment, parse_lines, read_open
from spendcast.monitoring.segments import Segments

logger = logging.getLogger(__name__)

Entry = tuple[Segment, Inference]


class Backlog:
    def __init__(
        self,
        journal: Journal,
        *,
        buffer_rows: int,
        batch_size: int,
        segment_rows: int,
        journal_required: bool = True,
    ):
        self.journal = journal
        self.lock = threading.Lock()
        self._queue: SimpleQueue[Entry | None] = SimpleQueue()
        self._batch_full = threading.Event()
        self._buffer_rows = buffer_rows
        self._batch_size = batch_size
        self._segment_rows = segment_rows
        self._journal_required = journal_required
        self.segments = Segments(journal)
        self._refusal: str | None = "the recorder is not started"
        self.unjournaled: list[Inference] = []  # kept in memory only (best-effort), oldest first
        self.in_memory = 0  # queued rows whose line is in a segment
        self.spill_pending = 0
        self.spilled = 0
        self.journal_ok = True  # the last journal write succeeded
        self.journal_errors = 0  # journal writes that failed
        self.dropped = 0  # unjournaled rows neither written nor journaled when the recorder closed
        self.lost: str | None = None  # why the journal's files vanished, until it is recreated

    @property
    def size(self) -> int:
        return self.in_memory + self.spill_pending + len(self.unjournaled)

    @property
    def buffer_full(self) -> bool:
        return self.in_memory + len(self.unjournaled) >= self._buffer_rows

    def open(self) -> None:
        self.segments.open()
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
        """Keep every row (journaled, or in memory in best-effort mode) or raise, keeping none."""
        with self.lock:
            if self._refusal is not None:
                raise InferenceNotKept(self._refusal)
            segment = self.segments.current
            assert segment is not None
            try:
                self._check_not_lost()
                segment.append(b"".join(lines))
            except OSError as exc:
                self._journal_failed(exc)
                if self._journal_required:
                    raise InferenceNotKept(f"the journal cannot be written: {exc}") from exc
                if self.in_memory + len(self.unjournaled) + len(rows) > self._buffer_rows:
                    raise InferenceNotKept(
                        f"the journal cannot be written ({exc}) and the memory buffer is full"
                    ) from exc
                self.unjournaled.extend(rows)
                if len(self.unjournaled) == len(rows):
                    self._queue.put(None)  # wakes a writer waiting on an empty queue
                if len(self.unjournaled) >= self._batch_size:
                    self._batch_full.set()
                return
            self._journal_written()
            self._queue_journaled(segment, rows)

    def _queue_journaled(self, segment: Segment, rows: Sequence[Inference]) -> None:
        """Account for ``rows`` whose lines were just appended to ``segment`` (lock held)."""
        for row in rows:
            index = segment.written
            segment.written = index + 1
            if segment.spill_from is None and self.in_memory < self._buffer_rows:
                self.in_memory += 1
                self._queue.put((segment, row))
            else:
                if segment.spill_from is None:
                    segment.spill_from = index
                self.spilled += 1
                self.spill_pending += 1
        if self._queue.qsize() >= self._batch_size:
            self._batch_full.set()

    def _check_not_lost(self) -> None:
        if self.lost is not None:
            raise OSError(errno.ENOENT, f"the journal vanished: {self.lost}")

    def _journal_failed(self, exc: OSError) -> None:
        self.journal_errors += 1
        if self.journal_ok:
            self.journal_ok = False
            mode = "refusing predictions" if self._journal_required else "keeping rows in memory"
            logger.error("inference log journal write failed, %s until it recovers: %s", mode, exc)

    def _journal_written(self) -> None:
        if not self.journal_ok:
            self.journal_ok = True
            logger.warning("inference log journal writable again")

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
                segment.committed += 1
            self.in_memory -= len(batch)

    def journal_unjournaled(self) -> bool:
        """Append the rows kept in memory only to the journal; True once none is left."""
        with self.lock:
            rows, segment = self.unjournaled, self.segments.current
            if not rows:
                return True
            if segment is None or not self.accepting:
                return False
            try:
                self._check_not_lost()
                segment.append(b"".join(to_line(row) for row in rows))
            except OSError as exc:
                self._journal_failed(exc)
                return False
            self._journal_written()
            self.unjournaled = []
            self._queue_journaled(segment, rows)
        logger.warning("inference log: %d rows kept in memory only are journaled", len(rows))
        return True

    def unjournaled_head(self) -> list[Inference]:
        """The oldest rows kept in memory only, up to a batch (for the writer to insert)."""
        with self.lock:
            return self.unjournaled[: self._batch_size]

    def unjournaled_written(self, count: int) -> None:
        """The ``count`` oldest rows kept in memory only are now in the database."""
        with self.lock:
            del self.unjournaled[:count]

    def probe(self) -> None:
        """Does the journal take writes again? (``journal_ok``; rows kept in memory go first.)"""
        if self.unjournaled:
            self.journal_unjournaled()
            return
        try:
            self.journal.probe()
        except OSError as exc:
            with self.lock:
                self._journal_failed(exc)
            return
        with self.lock:
            current = self.segments.current
            if current is not None and current.torn:
                return  # still unusable: the writer rotates it first
            self._journal_written()

    def watch(self) -> None:
        """Recreate the journal if its files vanished, else retry it if it is degraded."""
        with self.lock:
            reason = self.lost or self.journal.vanished(self.segments.live())
            if reason is None:
                degraded = not self.journal_ok
            else:
                self._rehome(reason)
                return
        if degraded:
            self.probe()

    def _rehome(self, reason: str) -> None:
        """Copy every live segment into the (recreated) directory; until that succeeds the
        journal is lost, as a failed write (lock held)."""
        if self.lost is None:
            self.lost = reason
            logger.error(
                "inference log journal vanished (%s): rows not yet in the database are only in "
                "this process's memory and open files until the journal is recreated",
                reason,
            )
        try:
            rows = self.segments.rehome()
        except OSError as exc:
            self._journal_failed(exc)
            return
        self.lost = None
        self._journal_written()
        logger.warning(
            "inference log journal recreated in %s: %d rows not yet in the database journaled "
            "again",
            self.journal.directory,
            rows,
        )

    def rotate_if_due(self, idle: bool) -> None:
        """Start a new segment when the current one is full, spilling with room in memory
        again, torn, or idle and fully committed (so that it can be deleted)."""
        with self.lock:
            current = self.segments.current
            assert current is not None
            due = (
                self.accepting
                and self.lost is None
                and (
                    current.written >= self._segment_rows
                    or current.torn
                    or (current.spill_from is not None and self.in_memory <= self._buffer_rows // 2)
                    or (idle and 0 < current.written == current.committed)
                )
            )
            if not due:
                return
            # Under the lock: the watcher may give the journal a new prefix at any time.
            self.segments.rotate()

    def spilled_segments(self) -> list[Segment]:
        """Segments whose spilled lines are final (sealed, or current once intake stopped)."""
        with self.lock:
            return self.segments.spilled(final=not self.accepting)

    def spilled_rows(self, segment: Segment) -> list[Inference]:
        """The rows of ``segment`` from ``spill_from`` on, read from its open file (it may have
        been unlinked, or be adopted meanwhile: a duplicate of the descriptor is read)."""
        with self.lock:
            start = segment.spill_from
            assert start is not None
            assert segment.fd is not None
            fd, size = os.dup(segment.fd), segment.size
        try:
            return parse_lines(read_open(fd, size), start, segment.path)
        finally:
            os.close(fd)

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
            done = self.segments.close_done(final=not self.accepting)
        for segment in done:
            segment.path.unlink(missing_ok=True)

    def close(self) -> None:
        """Seal the journal; rows still kept in memory only get one last chance to be journaled
        for the next start, else they are lost and counted in ``dropped``."""
        with self.lock:
            rows, self.unjournaled = self.unjournaled, []
            if rows:
                self._save_for_next_start(rows)
            self.segments.close()
        self.journal.close()

    def _save_for_next_start(self, rows: list[Inference]) -> None:
        try:
            self.segments.write_apart(b"".join(to_line(row) for row in rows))
        except OSError as exc:
            self.dropped += len(rows)
            logger.error(
                "inference log: %d rows kept in memory only are LOST (database and journal "
                "unavailable at shutdown): %s",
                len(rows),
                exc,
            )
            return
        self.spill_pending += len(rows)  # still in the backlog: the next start replays them
        logger.warning("inference log: %d rows kept in memory only journaled", len(rows))
