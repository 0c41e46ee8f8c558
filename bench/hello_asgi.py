"""A bare ASGI app: the cheapest route the server stack can serve, as the benchmark's floor.

Every GET answers ``{"status":"ok"}`` (the body ``/health`` returns) with no framework at all,
so ``spendcast health / bare hello`` is what FastAPI, middleware and routing cost.
Lifespan events are acknowledged so that every server (uvicorn, granian) starts it cleanly.
"""

from __future__ import annotations

from bench.asgi import Receive, Scope, Send, answer, json_headers, lifespan

BODY = b'{"status":"ok"}'
HEADERS = json_headers(BODY)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer every HTTP request with the same small JSON body."""
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
    if scope["type"] != "http":
        return
    await answer(send, 200, BODY, HEADERS)
