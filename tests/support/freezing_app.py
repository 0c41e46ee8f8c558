"""A plain ASGI app that answers at once except while it freezes: ``F`` seconds every ``P``.

The freezes are the epoch intervals ``[n·P, n·P + F)``: a request received at phase
``φ = t mod P < F`` waits until the freeze ends, ``F - φ`` seconds (an ``asyncio.sleep``, so
any number of requests wait together), then gets a bare JSON number like ``/predict``. Every
path answers so except ``/ready`` and ``/count`` (never frozen, never counted); ``/count``
returns ``{"path": requests received, ...}``. The truth, for iterations arriving at a constant
rate over a whole number of periods: a share ``F/P`` of the requests wait, uniformly between 0
and ``F``, so ``P(latency > x) = (F - x) / P`` and the p-th percentile is
``F - (1 - p/100)·P`` (when above 0): ``expected_percentile_s``.

    FREEZE_S=1 FREEZE_PERIOD_S=4 uvicorn tests.support.freezing_app:app --port 8000
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter

from bench.asgi import Receive, Scope, Send, answer, lifespan, read_body

FREEZE_S = float(os.environ.get("FREEZE_S", "1"))
PERIOD_S = float(os.environ.get("FREEZE_PERIOD_S", "4"))
_received: Counter[str] = Counter()


def expected_percentile_s(percentile: float, freeze_s: float, period_s: float) -> float:
    """The exact percentile of latencies under a constant arrival rate (see the docstring)."""
    return max(freeze_s - (1 - percentile / 100) * period_s, 0.0)


def freeze_left(now: float) -> float:
    phase = now % PERIOD_S
    return FREEZE_S - phase if phase < FREEZE_S else 0.0


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
    if scope["type"] != "http":
        return
    await read_body(receive)
    path = scope["path"].rstrip("/") or "/"
    if path == "/ready":
        await answer(send, 200, b'{"status":"ok"}')
        return
    if path == "/count":
        await answer(send, 200, json.dumps(dict(_received)).encode())
        return
    _received[path] += 1
    wait = freeze_left(time.time()) if FREEZE_S > 0 else 0.0
    if wait > 0:
        await asyncio.sleep(wait)
    await answer(send, 200, b"1000.0")
