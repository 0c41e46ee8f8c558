"""The bare hello that also counts what it answered: the load generators' common yardstick.

Every GET answers as ``bench.hello_asgi`` does and adds one to a counter, except
``GET /requests-served``, which answers the counter as a bare JSON number and is not counted.
The generator benchmark reads it before and after a window, so plain Locust and
``spendcast loadtest`` are counted by the same instrument, outside both of them. One worker
only (the counter lives in its process).
"""

from __future__ import annotations

from typing import Final

from bench.asgi import Receive, Scope, Send, answer
from bench.hello_asgi import app as hello

COUNT_PATH: Final = "/requests-served"
_served = 0


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """The hello, counted; ``COUNT_PATH`` answers the count."""
    global _served
    if scope["type"] == "http":
        if scope["path"] == COUNT_PATH:
            await answer(send, 200, str(_served).encode())
            return
        _served += 1
    await hello(scope, receive, send)
