"""The recorder: ``record()`` journals and enqueues a row; a writer thread inserts batches.

Hot path: one JSON dump, one ``os.write`` to this process's journal, one queue put. The writer
thread drains the queue in batches (``batch_size`` rows or ``flush_seconds``) and inserts each
batch in one idempotent transaction. While the database is down, up to ``buffer_rows`` rows wait
in memory; later rows are only in the journal (spilled) and are read back from it when the
database returns. Journals of killed processes are replayed by the next recorder that starts.
A watcher thread looks at the journal every ``PROBE_SECONDS``: it recreates a journal whose
files vanished and retries a degraded one, whatever the writer is waiting for.

Promise: ``record()`` returns only once its rows are kept -- journaled, or (``journal=
"best-effort"``) in memory while the journal fails -- and otherwise raises ``InferenceNotKept``
having kept none of them. ``stats().reasons`` says why the promise cannot be kept right now.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, get_args

from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from spendcast.errors import DatabaseFileChanged, RecorderError
from spendcast.monitoring.backlog import Backlog, Entry
from spendcast.monitoring.database import Database, describe
from spendcast.monitoring.inference import Inference, to_line
from spendcast.monitoring.journal import Journal, orphans, read_segment
from spendcast.monitoring.stats import RecorderStats
from spendcast.settings import JournalMode

if TYPE_CHECKING:
    from spendcast.settings import Settings

logger = logging.getLogger(__name__)

JOURNAL_MODES: tuple[str, ...] = get_args(JournalMode)
PING_SECONDS = 1.0  # longest the writer goes without touching the database
PROBE_SECONDS = 0.5  # how often the journal is checked (vanished files) or tried again (degraded)
# A database operation waiting longer than this (an outside write lock, a stalled server) makes
# ``database_ok`` false at once, not only when it fails (after SQLite's 30 s busy timeout).
STALL_SECONDS = 2.0
# How often a live recorder looks for the journal of a dead process (a few system calls per
# journal): a killed worker's rows are replayed by the survivors within a second or so, not only
# by its replacement, which may take many seconds to start (it loads the model first).
ORPHAN_SCAN_SECONDS = 1.0


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
        orphan_scan_seconds: float = ORPHAN_SCAN_SECONDS,
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
        self._watch_stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._database: Database | None = None
        self._stopped = False
        self._ready = False  # schema checked and orphans replayed since the last failure
        self._database_ok = False  # the last operation succeeded; after a failure, a write did
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
        except (SQLAlchemyError, DatabaseFileChanged) as exc:
            logger.warning(
                "inference log database unavailable at start, will retry: %s", describe(exc)
            )
        self._thread = threading.Thread(target=self._run, name="spendcast-recorder", daemon=True)
        self._thread.start()
        self._watcher = threading.Thread(
            target=self._watch, name="spendcast-journal-watcher", daemon=True
        )
        self._watcher.start()

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
        self._watch_stop.set()
        if self._watcher is not None:
            self._watcher.join()
            self._backlog.watch()  # a last look: what is left must be where the next start looks
        if thread is not None and thread.is_alive():
            lost = self._backlog.lost
            logger.error(
                "inference log: %d rows not written before shutdown %s",
                self._backlog.size,
                f"are LOST with the journal ({lost}, not recreated)"
                if lost
                else f"stay in journal {self._journal.directory}",
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
        waiting_since = self._database.waiting_since if self._database is not None else None
        stalled = waiting_since is not None and time.monotonic() - waiting_since > STALL_SECONDS
        with backlog.lock:
            thread = self._thread
            return RecorderStats(
                running=backlog.accepting and thread is not None and thread.is_alive(),
                database_ok=self._database_ok and not stalled,
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
        # Reading the schema does not prove that writes go through (an outside write lock lets
        # reads pass): with rows waiting, only an insert that succeeds makes the database ok.
        if self._backlog.size == 0:
            self._database_ok = True
        self._last_contact = time.monotonic()

    def _watch(self) -> None:
        while not self._watch_stop.wait(PROBE_SECONDS):
            try:
                self._backlog.watch()
            except OSError as exc:
                logger.error("inference log journal check failed, retrying: %s", exc)

    def _run(self) -> None:
        delay = 0.05
        pending: list[Entry] = []
        next_scan = time.monotonic() + self._orphan_scan_seconds
        backlog = self._backlog
        while not self._abort.is_set():
            try:
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
                    self._written += self._insert(backlog.spilled_rows(segment))
                    backlog.recovered(segment)
                backlog.delete_done_segments()
                if time.monotonic() >= next_scan:
                    self._replay_orphans()
                    next_scan = time.monotonic() + self._orphan_scan_seconds
                delay = 0.05
            except (SQLAlchemyError, DatabaseFileChanged) as exc:
                self._failed_batches += 1
                if isinstance(exc, DatabaseFileChanged):
                    logger.warning("inference log: %s, writing its rows into the new one", exc)
                elif self._database_ok:
                    logger.warning(
                        "inference log database unavailable, retrying: %s", describe(exc)
                    )
                self._ready = False  # re-check the schema: the database may have been recreated
                self._database_ok = False
                self._abort.wait(delay)
                delay = min(delay * 2, self._retry_max_seconds)
                continue
            except OSError as exc:
                logger.error("inference log journal error, retrying: %s", exc)
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
                self._database_ok = True
                accepted += len(batch)
            except (IntegrityError, DataError):
                # A value the database refuses: retry row by row so only the bad rows are lost.
                for row in batch:
                    try:
                        self._db.insert([row])
                        accepted += 1
                    except (IntegrityError, DataError) as exc:
                        self._rejected += 1
                        logger.error("inference log refused row %s: %s", row.id, describe(exc))
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
