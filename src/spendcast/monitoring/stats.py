"""What a recorder reports about itself (``Recorder.stats()``), and why it may not be ready."""

from __future__ import annotations

from dataclasses import dataclass

# Why the recorder cannot keep its promise right now (``RecorderStats.reasons``).
RECORDER_STOPPED = "recorder stopped"
DATABASE_UNREACHABLE = "database unreachable"
JOURNAL_DEGRADED = "journal degraded"
BUFFER_FULL = "buffer full"


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
