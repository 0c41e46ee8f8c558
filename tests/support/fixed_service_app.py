"""A plain ASGI app whose capacity is known: one request at a time, a fixed service time each.

``GET /predict`` (and ``POST /predict``) hold the event loop for ``FIXED_SERVICE_MS``
milliseconds (``time.sleep`` inside the async handler blocks the loop on purpose, so requests
are served strictly one after the other: one uvicorn worker serves ``1000 / FIXED_SERVICE_MS``
requests/s at most), then spin the CPU ``FIXED_CPU_MS`` milliseconds in ``slow_checksum``
(the deliberately slow function a profile must name), and answer a bare JSON number.
``/health`` and ``/ready`` answer at once.

    FIXED_SERVICE_MS=10 uvicorn tests.support.fixed_service_app:app --port 8000
"""

from __future__ import annotations

import os
import time

from bench.asgi import Scope, predict_app

SERVICE_S = float(os.environ.get("FIXED_SERVICE_MS", "10")) / 1000.0
CPU_S = float(os.environ.get("FIXED_CPU_MS", "0")) / 1000.0


def slow_checksum(seconds: float) -> int:
    """Burn the CPU in pure Python for ``seconds``: the hot spot a profiler must find."""
    total = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for value in range(500):
            total = (total * 31 + value) % 1_000_003
    return total


async def _predict(scope: Scope) -> tuple[int, bytes]:
    if SERVICE_S:
        time.sleep(SERVICE_S)  # blocks the event loop: one request at a time
    checksum = slow_checksum(CPU_S) if CPU_S else 0
    return 200, f"{1000.0 + checksum % 7}".encode()


app = predict_app(_predict)
