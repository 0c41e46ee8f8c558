"""The API log file: one line per call, written by a background thread.

The request path only puts a tuple on a queue (well under a microsecond); a writer thread
wakes every ``flush_seconds``, formats what has queued up and appends it to the file in one
write. Lines hold the time, client, method, path (never the query string, a cookie or a
header), status and duration, so the token never reaches the file::

    2026-05-04T12:00:00.123 127.0.0.1:40000 GET /predict 200 0.31ms
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from queue import Empty, SimpleQueue
from typing import TextIO

# (time.time(), client, method, path, status, duration in ms)
Entry = tuple[float, str, str, str, int, float]
FLUSH_SECONDS = 0.1


def format_line(entry: Entry) -> str:
    at, client, method, path, status, duration_ms = entry
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(at))
    millis = int((at % 1) * 1000)
    return f"{stamp}.{millis:03d} {client} {method} {path} {status} {duration_ms:.2f}ms\n"


class AccessLog:
    """Appends ``time client method path status duration`` lines to ``path``."""

    def __init__(self, path: Path, flush_seconds: float = FLUSH_SECONDS) -> None:
        self.path = path
        self.flush_seconds = flush_seconds
        self._queue: SimpleQueue[Entry] = SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Open the file and start the writer thread."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        file = self.path.open("a", encoding="utf-8")
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(file,), name="spendcast-access-log", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Write every queued line, then close the file."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join()

    def write(self, client: str, method: str, path: str, status: int, duration_ms: float) -> None:
        """Queue one line; returns at once."""
        self._queue.put((time.time(), client, method, path, status, duration_ms))

    def _run(self, file: TextIO) -> None:
        with file:
            # A timed wake-up rather than one per line: under load the request thread would
            # otherwise hand the GIL to this thread for every call.
            while not self._stop.wait(self.flush_seconds):
                self._drain(file)
            self._drain(file)

    def _drain(self, file: TextIO) -> None:
        lines = []
        while True:
            try:
                lines.append(format_line(self._queue.get_nowait()))
            except Empty:
                break
        if lines:
            file.write("".join(lines))
            file.flush()
