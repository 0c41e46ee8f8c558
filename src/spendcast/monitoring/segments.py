"""The journal segments a backlog keeps open: the current one, which rows are appended to, and
the sealed ones whose rows are not all known to be in the database yet.

Not thread-safe on its own: every method runs under the backlog's lock (``Backlog.lock``).
"""

from __future__ import annotations

from spendcast.monitoring.journal import Journal, Segment


class Segments:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.current: Segment | None = None
        self.sealed: list[Segment] = []

    def open(self) -> None:
        self.current = self.journal.new_segment()

    def live(self) -> list[Segment]:
        """The segments whose file is still open (what a vanished journal copies over)."""
        current = [] if self.current is None else [self.current]
        return [segment for segment in self.sealed + current if segment.fd is not None]

    def rehome(self) -> int:
        """Copy every live segment into a new lock and segments in the journal's (recreated)
        directory; returns how many of their rows are not yet committed."""
        live = self.live()
        self.journal.reopen()
        for segment in live:
            self.journal.adopt(segment)
        return sum(segment.written - segment.committed for segment in live)

    def rotate(self) -> None:
        """Seal the current segment and start a new one."""
        current = self.current
        assert current is not None
        fresh = self.journal.new_segment()
        current.seal()
        self.sealed.append(current)
        self.current = fresh

    def spilled(self, *, final: bool) -> list[Segment]:
        """Segments whose spilled lines are final: sealed, or current once ``final`` (intake
        stopped)."""
        segments = list(self.sealed)
        if final and self.current is not None:
            segments.append(self.current)
        return [segment for segment in segments if segment.spill_from is not None]

    def close_done(self, *, final: bool) -> list[Segment]:
        """Close and forget the sealed segments whose rows are all committed, and the current
        one too once ``final`` (intake stopped) and committed; returns them, to be deleted."""
        done = [segment for segment in self.sealed if segment.done]
        self.sealed = [segment for segment in self.sealed if not segment.done]
        current = self.current
        if final and current is not None and current.written == current.committed:
            current.seal()
            done.append(current)
        for segment in done:
            segment.close()
        return done

    def close(self) -> None:
        for segment in self.sealed + ([self.current] if self.current else []):
            segment.close()

    def write_apart(self, lines: bytes) -> None:
        """``lines`` in a new segment of their own, closed at once (the next start replays it);
        raises ``OSError``, leaving no file, when it cannot be written."""
        segment = self.journal.new_segment()
        try:
            segment.append(lines)
        except OSError:
            segment.path.unlink(missing_ok=True)
            raise
        finally:
            segment.close()
