"""Per-process append-only journal files, and the orphans a killed process leaves behind.

A recorder owns ``<pid>-<token>.lock`` (held with ``flock`` for its whole life) and writes rows
to segments ``<pid>-<token>.<seq>.jsonl``. A lock file nobody holds belongs to a dead process:
whoever takes its lock first replays its segments, deletes them, then deletes the lock file.
A write that fails (disk full) is cut back to the last whole line, so a segment only ever holds
whole lines, except the last line of a process killed in the middle of a write.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from spendcast.monitoring.inference import Inference, from_line

logger = logging.getLogger(__name__)

LOCK_SUFFIX = ".lock"
PROBE_SUFFIX = ".probe"
PROBE_BYTES = 4096  # a page: "the disk takes writes again" means at least a few lines fit


@dataclass(eq=False)
class Segment:
    """One journal file. Counters are guarded by the recorder's lock."""

    path: Path
    fd: int | None
    written: int = 0  # lines appended
    committed: int = 0  # of those, rows known to be in the database
    spill_from: int | None = None  # lines from this index on are only in the file
    size: int = 0  # bytes of whole lines in the file
    torn: bool = False  # a failed write could not be cut back: append nothing more

    @property
    def done(self) -> bool:
        return self.fd is None and self.committed >= self.written

    def append(self, lines: bytes) -> None:
        """One write of whole lines (a loop only if the kernel writes them short). On failure
        nothing of ``lines`` stays in the file, or the segment is marked torn."""
        assert self.fd is not None
        if self.torn:
            raise OSError(errno.EIO, "journal segment holds a partial line", str(self.path))
        written = 0
        try:
            while written < len(lines):
                written += os.write(self.fd, lines[written:])
        except OSError:
            if written:
                try:
                    os.ftruncate(self.fd, self.size)
                except OSError:
                    self.torn = True
            raise
        self.size += written

    def seal(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def read_segment(path: Path, start: int = 0) -> list[Inference]:
    """The rows of a segment from line ``start`` on; a torn line (killed mid-write) is skipped."""
    rows: list[Inference] = []
    for number, line in enumerate(path.read_bytes().splitlines()[start:], start):
        try:
            rows.append(from_line(line))
        except (ValueError, KeyError, TypeError):
            logger.warning("skipping unreadable line %d of journal %s", number + 1, path)
    return rows


@dataclass(eq=False)
class Journal:
    """The journal files of this recorder in ``directory``."""

    directory: Path
    fsync: bool = False
    prefix: str = field(default_factory=lambda: f"{os.getpid()}-{secrets.token_hex(4)}")
    _lock_fd: int | None = None
    _sequence: int = 0

    @property
    def lock_path(self) -> Path:
        return self.directory / f"{self.prefix}{LOCK_SUFFIX}"

    def open(self) -> None:
        """Create and lock this process's lock file (locked before it gets the name others scan)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.directory / f"{self.prefix}.tmp"
        fd = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.rename(temporary, self.lock_path)
        self._lock_fd = fd

    def new_segment(self) -> Segment:
        self._sequence += 1
        path = self.directory / f"{self.prefix}.{self._sequence:06d}.jsonl"
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_EXCL | os.O_CLOEXEC
        if self.fsync:
            flags |= os.O_DSYNC
        return Segment(path, os.open(path, flags, 0o644))

    def probe(self) -> None:
        """Write and delete ``PROBE_BYTES`` beside the segments; ``OSError`` if the disk refuses."""
        path = self.directory / f"{self.prefix}{PROBE_SUFFIX}"
        try:
            path.write_bytes(b"\0" * PROBE_BYTES)
        finally:
            path.unlink(missing_ok=True)

    def close(self) -> None:
        """Release the lock; the lock file goes too when no segment is left (nothing to replay)."""
        if self._lock_fd is None:
            return
        if not any(self.directory.glob(f"{self.prefix}.*.jsonl")):
            self.lock_path.unlink(missing_ok=True)
        os.close(self._lock_fd)
        self._lock_fd = None


@dataclass(eq=False)
class Orphan:
    """The journal of a dead process, locked by us while we replay it."""

    lock_path: Path
    fd: int

    @property
    def segments(self) -> list[Path]:
        prefix = self.lock_path.name.removesuffix(LOCK_SUFFIX)
        return sorted(self.lock_path.parent.glob(f"{prefix}.*.jsonl"))

    def finish(self) -> None:
        """Every segment replayed: remove the lock file (and a probe left by a kill), then
        release it."""
        self.lock_path.with_suffix(PROBE_SUFFIX).unlink(missing_ok=True)
        self.lock_path.unlink(missing_ok=True)
        self.release()

    def release(self) -> None:
        os.close(self.fd)


def orphans(directory: Path, own: Journal) -> Iterator[Orphan]:
    """Lock, one at a time, the journals of processes that are gone; live ones are skipped."""
    for lock_path in sorted(directory.glob(f"*{LOCK_SUFFIX}")):
        if lock_path == own.lock_path:
            continue
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # Another recorder may have replayed and unlinked it while we were opening it.
            if os.fstat(fd).st_ino != os.stat(lock_path).st_ino:
                raise FileNotFoundError(lock_path)
        except (BlockingIOError, FileNotFoundError):
            os.close(fd)
            continue
        yield Orphan(lock_path, fd)
