"""An ASGI app whose bottleneck is known by construction, chosen by ``BOTTLENECK``.

- ``cpu``: ``slow_checksum`` (``fixed_service_app``'s) spins ``BOTTLENECK_MS`` of pure Python
  on the event loop: one core, full.
- ``lock``: ``hold_lock`` sleeps ``BOTTLENECK_MS`` while holding one lock (threads): CPU near 0.
- ``pool``: ``use_slot`` sleeps ``BOTTLENECK_MS`` in one of ``BOTTLENECK_SLOTS`` semaphore slots.
- ``fast``: answers at once (a single Locust process saturates before the server does).
- ``errors``: answers 503 when more than ``BOTTLENECK_SLOTS`` requests are in flight (each waits
  ``BOTTLENECK_MS`` without using the CPU): failures start long before the server saturates.

    BOTTLENECK=lock uvicorn tests.support.bottleneck_app:app --port 8000
"""

from __future__ import annotations

import asyncio
import os
import threading
import time

from bench.asgi import Scope, predict_app
from tests.support.fixed_service_app import slow_checksum

MODE = os.environ.get("BOTTLENECK", "cpu")
SECONDS = float(os.environ.get("BOTTLENECK_MS", "10")) / 1000.0
SLOTS = int(os.environ.get("BOTTLENECK_SLOTS", "4"))
LOCK = threading.Lock()
POOL = threading.BoundedSemaphore(SLOTS)
in_flight = 0


def hold_lock(seconds: float) -> None:
    """One request at a time: the others wait on the lock while its holder sleeps."""
    with LOCK:
        time.sleep(seconds)


def use_slot(seconds: float) -> None:
    """At most ``SLOTS`` requests at a time: the others wait for a free slot."""
    with POOL:
        time.sleep(seconds)


async def handle() -> int:
    global in_flight
    if MODE == "cpu":
        slow_checksum(SECONDS)
    elif MODE == "lock":
        await asyncio.to_thread(hold_lock, SECONDS)
    elif MODE == "pool":
        await asyncio.to_thread(use_slot, SECONDS)
    elif MODE == "errors":
        in_flight += 1
        try:
            if in_flight > SLOTS:
                return 503
            await asyncio.sleep(SECONDS)
        finally:
            in_flight -= 1
    return 200


async def _predict(scope: Scope) -> tuple[int, bytes]:
    status = await handle()
    return status, b"1000.0" if status == 200 else b'{"detail":"busy"}'


app = predict_app(_predict)
