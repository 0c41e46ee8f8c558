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
App = Callable[[Scope, Receive, Send], Awaitable[None]]
# What a server of known behaviour answers to /predict: the status and the body.
Predict = Callable[[Scope], Awaitable[tuple[int, bytes]]]


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


def predict_app(predict: Predict) -> App:
    """A server of known behaviour: ``/predict`` answered by ``predict(scope)``, ``/health``
    and ``/ready`` at once, anything else 404 (the tests' support servers)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
        if scope["type"] != "http":
            return
        await read_body(receive)
        path = scope["path"].rstrip("/")
        if path == "/predict":
            status, body = await predict(scope)
            await answer(send, status, body)
        elif path in ("/health", "/ready"):
            await answer(send, 200, b'{"status":"ok"}')
        else:
            await answer(send, 404, b'{"detail":"not found"}')

    return app
