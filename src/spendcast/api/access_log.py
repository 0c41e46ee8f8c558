"""The API log file: one line per call, written by a background thread.

The request path only builds a ``LogRecord`` and puts it on a queue; a ``QueueListener``
thread formats it and appends it to the file. Lines hold the client, method, path (never the
query string, a cookie or a header), status and duration, so the token never reaches the file.
"""

from __future__ import annotations

import logging
import queue
from logging.handlers import QueueHandler, QueueListener
from pathlib import Path

LOGGER_NAME = "spendcast.access"
LINE = "%s %s %s %d %.2fms"


class _UnformattedQueueHandler(QueueHandler):
    """Queue the record as it is: formatting happens in the listener thread.

    Safe because access records carry only immutable arguments (str, int, float).
    """

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record


class AccessLog:
    """Appends ``time client method path status duration`` lines to ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._queue: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        self._handler = _UnformattedQueueHandler(self._queue)
        self._listener: QueueListener | None = None

    def start(self) -> None:
        """Open the file and start the writer thread."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(self.path, encoding="utf-8")
        file_handler.setFormatter(
            logging.Formatter("%(asctime)s.%(msecs)03d %(message)s", "%Y-%m-%dT%H:%M:%S")
        )
        self._listener = QueueListener(self._queue, file_handler)
        self._listener.start()

    def stop(self) -> None:
        """Write every queued line, then close the file."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()
            for handler in listener.handlers:
                handler.close()

    def write(self, client: str, method: str, path: str, status: int, duration_ms: float) -> None:
        """Queue one line; returns at once."""
        record = logging.LogRecord(
            LOGGER_NAME,
            logging.INFO,
            "",
            0,
            LINE,
            (client, method, path, status, duration_ms),
            None,
        )
        self._handler.handle(record)
