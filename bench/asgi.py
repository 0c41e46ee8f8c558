"""What the bare ASGI apps share (the benchmark's hellos, the tests' servers of known behaviour):
the ASGI types, the lifespan handshake and a JSON answer, with no framework at all.

``lifespan`` acknowledges startup and shutdown so that every server (uvicorn, granian) starts
and stops an app cleanly; ``answer`` sends one complete JSON response.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]


def json_headers(body: bytes) -> Headers:
    return [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]


async def lifespan(receive: Receive, send: Send) -> None:
    """Acknowledge the lifespan events until shutdown."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def read_body(receive: Receive) -> None:
    """Read (and drop) the whole request body."""
    while (await receive()).get("more_body"):
        pass


async def answer(send: Send, status: int, body: bytes, headers: Headers | None = None) -> None:
    """One complete response: ``body`` as JSON (``headers``: precomputed for ``body``)."""
    headers = json_headers(body) if headers is None else headers
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
