"""A plain ASGI app whose latency changes at a known time, and which logs when each request came.

``GET /predict`` waits ``TIMELINE_BEFORE_MS`` (without blocking: requests overlap) until
``TIMELINE_SWITCH_S`` seconds after the first request, then ``TIMELINE_AFTER_MS``. Each request's
arrival (``time.time()`` when the app receives it, epoch seconds) and query string are appended
to ``TIMELINE_LOG``, one ``<time> <query>`` line each, so a test compares what was asked with what
was received, and when.

    TIMELINE_BEFORE_MS=50 TIMELINE_AFTER_MS=5 TIMELINE_SWITCH_S=3 TIMELINE_LOG=/tmp/arrivals \
        uvicorn tests.support.timeline_app:app --port 8000
"""

from __future__ import annotations

import asyncio
import os
import time

from bench.asgi import Scope, predict_app

BEFORE_S = float(os.environ.get("TIMELINE_BEFORE_MS", "0")) / 1000.0
AFTER_S = float(os.environ.get("TIMELINE_AFTER_MS", "0")) / 1000.0
SWITCH_S = float(os.environ.get("TIMELINE_SWITCH_S", "0"))
LOG = os.environ.get("TIMELINE_LOG", "")
_first: list[float] = []
_log_fd = os.open(LOG, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644) if LOG else -1


async def _predict(scope: Scope) -> tuple[int, bytes]:
    now = time.time()
    if _log_fd >= 0:
        os.write(_log_fd, f"{now:.6f} {scope['query_string'].decode()}\n".encode())
    if not _first:
        _first.append(now)
    delay = BEFORE_S if now - _first[0] < SWITCH_S else AFTER_S
    if delay:
        await asyncio.sleep(delay)
    return 200, b"1000.0"


app = predict_app(_predict)
