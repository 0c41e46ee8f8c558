"""The recorder: ``record()`` journals and enqueues a row; a writer thread inserts batches.

Hot path: one JSON dump, one ``os.write`` to this process's journal, one queue put. The writer
thread drains the queue in batches (``batch_size`` rows or ``flush_seconds``) and inserts each
batch in one idempotent transaction. While the database is down, up to ``buffer_rows`` rows wait
in memory; later rows are only in the journal (spilled) and are read back from it when the
database returns. Journals of killed processes are replayed by the next recorder that starts.

Promise: ``record()`` returns only once its rows are kept -- journaled, or (``journal=
"best-effort"``) in memory while the journal fails -- and otherwise raises ``InferenceNotKept``
having kept none of them. ``stats().reasons`` says why the promise cannot be kept right now.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, get_args

from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from spendcast.errors import RecorderError
from spendcast.monitoring.backlog import Backlog, Entry
from spendcast.monitoring.database import Database
from spendcast.monitoring.inference import Inference, to_line
from spendcast.monitoring.journal import Journal, orphans, read_segment
from spendcast.settings import JournalMode

if TYPE_CHECKING:
    from spendcast.settings import Settings

logger = logging.getLogger(__name__)

JOURNAL_MODES: tuple[str, ...] = get_args(JournalMode)
# Why the recorder cannot keep its promise right now (``RecorderStats.reasons``).
RECORDER_STOPPED = "recorder stopped"
DATABASE_UNREACHABLE = "database unreachable"
JOURNAL_DEGRADED = "journal degraded"
BUFFER_FULL = "buffer full"
PING_SECONDS = 1.0  # longest the writer goes without touching the database
PROBE_SECONDS = 0.5  # how often a degraded journal is tried again


@dataclass(frozen=True, slots=True)
class RecorderStats:
    running: bool
    database_ok: bool
    backlog: int  # rows recorded by this process and not yet in the database
    written: int  # rows this process inserted (from memory or from its spilled journal)
    spilled: int  # rows that did not fit in memory and went to the journal only
    replayed: int  # rows read back from the journals of dead processes
    failed_batches: int  # database operations that failed and were retried
    rejected: int = 0  # rows the database refused (bad values): logged, never retried
    dropped: int = 0  # rows kept in memory only (best-effort) and lost: see Backlog.close
    journal_ok: bool = True  # the last journal write succeeded
    buffer_full: bool = False  # the memory buffer holds ``buffer_rows`` rows
    journal_errors: int = 0  # journal writes that failed
    unjournaled: int = 0  # rows of the backlog kept in memory only (best-effort mode)

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why this recorder cannot keep its promise now; empty when it can (ready)."""
        states = (
            (not self.running, RECORDER_STOPPED),
            (not self.database_ok, DATABASE_UNREACHABLE),
            (not self.journal_ok, JOURNAL_DEGRADED),
            (self.buffer_full, BUFFER_FULL),
        )
        return tuple(reason for failing, reason in states if failing)


class Recorder:
    """Records every inference into the ``inference_log`` table, off the request path."""

    def __init__(
        self,
        database_url: str,
        journal_dir: Path,
        *,
        batch_size: int = 500,
        flush_seconds: float = 0.2,
        buffer_rows: int = 50_000,
        segment_rows: int = 10_000,
        fsync: bool = False,
        retry_max_seconds: float = 2.0,
        orphan_scan_seconds: float = 30.0,
        journal: JournalMode = "required",
    ) -> None:
        """``journal``: what a failed journal write means. ``"required"``: ``record()`` raises
        ``InferenceNotKept`` (a kept row always survives a process kill); ``"best-effort"``:
        the row is kept in memory only while the buffer has room (lost if the process dies
        before the journal or the database takes it)."""
        if batch_size < 1 or buffer_rows < 1 or segment_rows < 1 or flush_seconds <= 0:
            raise ValueError("batch_size, buffer_rows, segment_rows and flush_seconds must be > 0")
        if journal not in JOURNAL_MODES:
            raise ValueError(f"journal must be one of {JOURNAL_MODES}, not {journal!r}")
        self._database_url = database_url
        self._fsync = fsync
        self._journal = Journal(Path(journal_dir), fsync=fsync)
        self._backlog = Backlog(
            self._journal,
            buffer_rows=buffer_rows,
            batch_size=batch_size,
            segment_rows=segment_rows,
            journal_required=journal == "required",
        )
        self._batch_size = batch_size
        self._flush_seconds = flush_seconds
        self._retry_max_seconds = retry_max_seconds
        self._orphan_scan_seconds = orphan_scan_seconds
        self._abort = threading.Event()
        self._thread: threading.Thread | None = None
        self._database: Database | None = None
        self._stopped = False
        self._ready = False  # schema checked and orphans replayed since the last failure
        self._database_ok = False
        self._written = 0
        self._replayed = 0
        self._failed_batches = 0
        self._rejected = 0
        self._last_contact = 0.0  # monotonic time of the last successful database operation

    @classmethod
    def from_settings(cls, settings: Settings) -> Recorder:
        return cls(
            settings.database_url,
            settings.journal_dir,
            batch_size=settings.recorder_batch_size,
            flush_seconds=settings.recorder_flush_seconds,
            buffer_rows=settings.recorder_buffer_rows,
            fsync=settings.recorder_fsync,
            journal=settings.recorder_journal,
        )

    def start(self) -> None:
        """Open the database and the journal, replay orphan journals, start the writer thread.

        An unreachable database does not stop the start: rows are journaled and the writer
        keeps retrying. A bad URL or an unwritable journal directory raises RecorderError.
        """
        if self._thread is not None or self._stopped:
            raise RecorderError("a Recorder can be started only once")
        # Without fsync the journal does not outlive a power loss: nor need the commits.
        self._database = Database(self._database_url, durable_commits=self._fsync)
        try:
            self._journal.open()
            self._backlog.open()
        except OSError as exc:
            self._database.close()
            directory = self._journal.directory
            raise RecorderError(f"cannot write the journal in {directory}: {exc}") from exc
        try:
            self._bootstrap()
        except SQLAlchemyError as exc:
            logger.warning("inference log database unavailable at start, will retry: %s", exc)
        self._thread = threading.Thread(target=self._run, name="spendcast-recorder", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Flush every row to the database and close. Idempotent.

        If the database stays unreachable for ``timeout`` seconds the remaining rows stay in the
        journal, which the next recorder to start replays.
        """
        if self._stopped:
            return
        self._stopped = True
        self._backlog.refuse("the recorder is stopped")
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                self._abort.set()
                thread.join(min(timeout, 1.0))
                logger.error(
                    "inference log: %d rows not written before shutdown stay in journal %s",
                    self._backlog.size,
                    self._journal.directory,
                )
        self._backlog.close()
        if self._database is not None:
            self._database.close()

    def __enter__(self) -> Recorder:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def record(self, inference: Inference) -> None:
        """Journal and enqueue one row. Never touches the database, never waits on it.

        Raises ``InferenceNotKept`` (nothing recorded) when the row cannot be kept.
        """
        self._backlog.add((to_line(inference),), (inference,))

    def record_many(self, inferences: Sequence[Inference]) -> None:
        """Record every row or, raising ``InferenceNotKept``, none of them."""
        self._backlog.add([to_line(inference) for inference in inferences], inferences)

    def stats(self) -> RecorderStats:
        backlog = self._backlog
        with backlog.lock:
            thread = self._thread
            return RecorderStats(
                running=backlog.accepting and thread is not None and thread.is_alive(),
                database_ok=self._database_ok,
                backlog=backlog.size,
                written=self._written,
                spilled=backlog.spilled,
                replayed=self._replayed,
                failed_batches=self._failed_batches,
                rejected=self._rejected,
                dropped=backlog.dropped,
                journal_ok=backlog.journal_ok,
                buffer_full=backlog.buffer_full,
                journal_errors=backlog.journal_errors,
                unjournaled=len(backlog.unjournaled),
            )

    # -- writer thread -----------------------------------------------------------------------

    @property
    def _db(self) -> Database:
        assert self._database is not None
        return self._database

    def _bootstrap(self) -> None:
        self._db.create_schema()
        self._replay_orphans()
        self._ready = True
        self._database_ok = True
        self._last_contact = time.monotonic()

    def _run(self) -> None:
        delay = 0.05
        pending: list[Entry] = []
        next_scan = time.monotonic() + self._orphan_scan_seconds
        next_probe = 0.0
        backlog = self._backlog
        while not self._abort.is_set():
            try:
                if not backlog.journal_ok and time.monotonic() >= next_probe:
                    backlog.probe()  # first: it needs no database
                    next_probe = time.monotonic() + PROBE_SECONDS
                if not self._ready:
                    self._bootstrap()
                    logger.info("inference log database reachable")
                if not pending:
                    pending = backlog.take(self._flush_seconds)
                idle = not pending
                if pending:
                    self._written += self._insert([row for _, row in pending])
                    backlog.committed(pending)
                    pending = []
                backlog.rotate_if_due(idle)
                if unjournaled := backlog.unjournaled_head():
                    self._written += self._insert(unjournaled)
                    backlog.unjournaled_written(len(unjournaled))
                if time.monotonic() - self._last_contact >= PING_SECONDS:
                    self._db.ping()  # an idle writer notices an outage too
                    self._last_contact = time.monotonic()
                for segment in backlog.spilled_segments():
                    start = segment.spill_from
                    assert start is not None
                    self._written += self._insert(read_segment(segment.path, start))
                    backlog.recovered(segment)
                backlog.delete_done_segments()
                if time.monotonic() >= next_scan:
                    self._replay_orphans()
                    next_scan = time.monotonic() + self._orphan_scan_seconds
                delay = 0.05
            except SQLAlchemyError as exc:
                self._failed_batches += 1
                if self._database_ok:
                    logger.warning("inference log database unavailable, retrying: %s", exc)
                self._ready = False  # re-check the schema: the database may have been recreated
                self._database_ok = False
                self._abort.wait(delay)
                delay = min(delay * 2, self._retry_max_seconds)
                continue
            except OSError:
                logger.exception("inference log journal error, retrying")
                self._abort.wait(1.0)
                continue
            if not backlog.accepting and backlog.size == 0:
                break
        backlog.delete_done_segments()

    def _insert(self, rows: Sequence[Inference]) -> int:
        """Insert rows, ``batch_size`` per transaction; returns how many the database accepted."""
        accepted = 0
        for offset in range(0, len(rows), self._batch_size):
            batch = rows[offset : offset + self._batch_size]
            try:
                self._db.insert(batch)
                self._last_contact = time.monotonic()
                accepted += len(batch)
            except (IntegrityError, DataError):
                # A value the database refuses: retry row by row so only the bad rows are lost.
                for row in batch:
                    try:
                        self._db.insert([row])
                        accepted += 1
                    except (IntegrityError, DataError) as exc:
                        self._rejected += 1
                        logger.error("inference log refused row %r: %s", row, exc)
        return accepted

    def _replay_orphans(self) -> None:
        """Insert the rows of every journal left by a dead process, then delete it."""
        for orphan in orphans(self._journal.directory, self._journal):
            try:
                for path in orphan.segments:
                    self._replayed += self._insert(read_segment(path))
                    path.unlink()
            except BaseException:
                orphan.release()
                raise
            orphan.finish()
            logger.info("replayed the journal of a stopped process: %s", orphan.lock_path.name)
