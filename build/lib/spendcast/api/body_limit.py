"""A request body over the size limit is refused with 413 before it is read.

A ``Content-Length`` over the limit is answered at once, without reading a byte of the body; a
chunked body is counted as it arrives and refused as soon as it passes the limit. Either way
the body is never held in memory beyond the limit.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spendcast.api.errors import error_response

MIN_BYTES = 1024 * 1024
BYTES_PER_ROW = 1024  # generous for one pretty-printed JSON row of POST /predict
_NO_BODY = frozenset({"GET", "HEAD", "OPTIONS"})  # no route reads a body for these


def max_body_bytes(batch_limit: int) -> int:
    """The largest body a batch of ``batch_limit`` rows needs, with room to spare."""
    return max(MIN_BYTES, batch_limit * BYTES_PER_ROW)


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _NO_BODY:
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                if value.isdigit() and int(value) > self.max_bytes:
                    response = error_response(413, self._message(f"{int(value)} bytes"))
                    await response(scope, receive, send)
                    return
                break
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                # Raised inside the request's body read: FastAPI lets an HTTPException through.
                raise HTTPException(413, self._message(f"more than {self.max_bytes} bytes"))
            return message

        await self.app(scope, counting_receive, send)

    def _message(self, size: str) -> str:
        return f"the body is {size}, over the limit of {self.max_bytes} bytes"
