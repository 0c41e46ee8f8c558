"""The API log file: one line per call, written by a background thread.

The request path only puts a tuple on a queue (well under a microsecond); a writer thread
wakes every ``flush_seconds``, formats what has queued up and appends it to the file in one
write. Lines hold the local time with its UTC offset, client, method, path (never the query
string, a cookie or a header), status and duration, so the token never reaches the file::

    2026-05-04T12:00:00.123+02:00 127.0.0.1:40000 GET /predict 200 0.31ms

or, with ``SPENDCAST_LOG_FORMAT=json``, one JSON object per line::

    {"time":"2026-05-04T12:00:00.123+02:00","client":"127.0.0.1:40000","method":"GET",
     "path":"/predict","status":200,"duration_ms":0.31}

No request can forge a line: in text, client, method and path are escaped by ``log_escape``
(a percent-decoded ``%0A`` is written ``\\n``, a space ``\\x20``); in JSON every string is
JSON-escaped, line separators included, and keeps its exact value.

Rotation (logrotate's ``create`` or a plain ``mv``): before each write the writer compares the
file at ``path`` with the one it holds open (device and inode) and reopens ``path`` when it
was moved or deleted, as ``logging.handlers.WatchedFileHandler`` does; ``reopen()`` (what
SIGHUP calls) forces it. Lines are taken off the queue before that check, so a line queued
after the rename always lands in the new file and none is lost: those written before the
check went to the moved file. ``copytruncate`` works too: the file is opened in append mode.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from queue import Empty, SimpleQueue
from typing import BinaryIO, Literal

import orjson

from spendcast.api.log_escape import escape

logger = logging.getLogger(__name__)

LogFormat = Literal["text", "json"]
# (time.time(), client, method, path, status, duration in ms)
Entry = tuple[float, str, str, str, int, float]
FLUSH_SECONDS = 0.1


def _stamp(at: float) -> str:
    """``datetime.fromtimestamp(at).astimezone().isoformat(timespec="milliseconds")``; the
    local offset and the text up to the second are worked out once per second (the writer
    thread formats thousands of lines a second, and ``astimezone`` is most of the cost), the
    microseconds rounded as ``fromtimestamp`` rounds them (half to even)."""
    second = int(at)  # a time.time(): positive, so int() is the floor
    microsecond = round((at - second) * 1e6)  # both exact: the integer part of a float
    if microsecond >= 1_000_000:
        second += 1
        microsecond -= 1_000_000
    head, tail = _whole_second(second)
    return f"{head}.{microsecond // 1000:03d}{tail}"


@functools.lru_cache(maxsize=4)
def _whole_second(second: int) -> tuple[str, str]:
    # From the POSIX second: no ambiguity across a DST fold.
    text = datetime.fromtimestamp(second, UTC).astimezone().isoformat(timespec="seconds")
    return text[:19], text[19:]


def format_line(entry: Entry) -> str:
    """One text line (ending in a newline), every request-derived field escaped."""
    at, client, method, path, status, duration_ms = entry
    key = (client, method, path)
    fields = _fields.get(key)
    if fields is None:
        if len(_fields) >= FIELDS_KEPT:
            _fields.clear()
        fields = _fields[key] = f"{escape(client)} {escape(method)} {escape(path)}"
    return f"{_stamp(at)} {fields} {status} {duration_ms:.2f}ms\n"


# The escaped fields of recent (client, method, path): a connection sends many requests alike.
FIELDS_KEPT = 4096
_fields: dict[tuple[str, str, str], str] = {}


def format_json(entry: Entry) -> bytes:
    """One JSON object on one line (ending in a newline)."""
    at, client, method, path, status, duration_ms = entry
    document = {
        "time": _stamp(at),
        "client": client,
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": round(duration_ms, 3),
    }
    try:
        line = orjson.dumps(document, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:  # a lone surrogate: not valid UTF-8, kept as its escape
        for key in ("client", "method", "path"):
            value: str = document[key]  # type: ignore[assignment]
            document[key] = value.encode("utf-8", "backslashreplace").decode()
        line = orjson.dumps(document, option=orjson.OPT_APPEND_NEWLINE)
    if line.isascii() and b"\x7f" not in line:
        return line
    # orjson leaves DEL, C1 controls and line separators as they are: valid JSON, but a line
    # break for some readers (str.splitlines, JavaScript). Same value, \u-escaped.
    text = line.decode()
    return "".join(_json_char(char) for char in text).encode()


def _json_char(char: str) -> str:
    if char.isprintable() or char == "\n":
        return char
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    high, low = divmod(code - 0x10000, 0x400)
    return f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}"


class AccessLog:
    """Appends one line per call to ``path``, in ``log_format``."""

    def __init__(
        self, path: Path, flush_seconds: float = FLUSH_SECONDS, log_format: LogFormat = "text"
    ) -> None:
        self.path = path
        self.flush_seconds = flush_seconds
        self.log_format: LogFormat = log_format
        self._queue: SimpleQueue[Entry] = SimpleQueue()
        self._stop = threading.Event()
        self._reopen = False  # set from a signal handler: a plain attribute, no lock
        self._thread: threading.Thread | None = None
        self._file: BinaryIO | None = None

    def start(self) -> None:
        """Open the file and start the writer thread."""
        self._file = self._open()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="spendcast-access-log", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Write every queued line, then close the file."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join()
        if self._file is not None:
            self._file.close()
            self._file = None

    def write(self, client: str, method: str, path: str, status: int, duration_ms: float) -> None:
        """Queue one line; returns at once."""
        self._queue.put((time.time(), client, method, path, status, duration_ms))

    def reopen(self) -> None:
        """Reopen ``path`` before the next write (safe to call from a signal handler)."""
        self._reopen = True

    def _open(self) -> BinaryIO:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return self.path.open("ab")

    def _run(self) -> None:
        # A timed wake-up rather than one per line: under load the request thread would
        # otherwise hand the GIL to this thread for every call.
        while not self._stop.wait(self.flush_seconds):
            self._flush()
        self._flush()

    def _flush(self) -> None:
        entries = []
        while True:
            try:
                entries.append(self._queue.get_nowait())
            except Empty:
                break
        if not entries:
            return
        if self.log_format == "json":
            data = b"".join(format_json(entry) for entry in entries)
        else:
            data = "".join(format_line(entry) for entry in entries).encode()
        try:
            file = self._current_file()
            file.write(data)
            file.flush()
        except OSError:
            # The disk is full or the directory is gone: these lines are lost, the next
            # flush tries again (with a fresh file), the thread lives on.
            logger.exception("cannot write %d lines to the API log %s", len(entries), self.path)
            self._reopen = True

    def _current_file(self) -> BinaryIO:
        file = self._file
        assert file is not None
        if self._reopen or _moved(file, self.path):
            self._reopen = False
            fresh = self._file = self._open()
            file.close()
            return fresh
        return file


def _moved(file: BinaryIO, path: Path) -> bool:
    """``path`` no longer names the open ``file`` (renamed, deleted, replaced)."""
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return True
    held = os.fstat(file.fileno())
    return (on_disk.st_dev, on_disk.st_ino) != (held.st_dev, held.st_ino)
