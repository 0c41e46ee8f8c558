"""The HTTP protocol ``spendcast serve`` runs: uvicorn's httptools one, with two changes
and one addition.

1. A request its parser refuses (a URL over 64 KiB, raw bytes that are not ASCII in the
   request line, a broken header) is answered in the one JSON error shape, not plain text.
2. A header section over ``SPENDCAST_MAX_HEADER_BYTES`` (names + values + 4 separator bytes
   per line) is answered 431 in that shape, before the app sees the request. Each header line
   is counted as the parser completes it, and the parser stops at the first line over the
   limit; a line that never ends (one 1 MB ``Authorization``) is caught as it streams in: a
   head still open after more than ``limit + 64 KiB`` bytes (the longest URL the parser
   takes, plus the limit) is refused without waiting for its end.

Either way the request never reaches the app: it is neither in the API log nor in the metrics.
The answer is followed by a lingering close, as nginx does: the server half-closes, then reads
and drops what the client still sends for up to ``LINGER_SECONDS``. Closing at once with
unread bytes would make the kernel reset the connection, and a client still sending its head
would lose the answer.

One addition: every HTTP scope carries the ASGI extension ``RESPOND``, whose ``"respond"``
is ``respond(scope, headers, body) -> bool``: it writes a whole 200 answer (status line,
uvicorn's default headers, ``headers`` as complete ``name: value\r\n`` lines, ``body``) in one
``transport.write`` and completes the request as uvicorn's ``send`` does (keep-alive or close,
then the next pipelined request). Through ``send`` the same answer takes two messages, a
check per header line and two writes: two TCP segments, since the socket has ``TCP_NODELAY``.
It returns False, having written nothing, whenever ``send`` must answer instead: the request
is not the one being answered now (pipelining), an answer was started, the client is gone,
the transport is paused, or uvicorn's access log is on. The ``/predict`` fast path uses it;
the caller gives well-formed lines.

And one shortcut: when the app (or the app behind uvicorn's proxy-headers layer) has an
``answer_now(scope)`` (``AnswerNow``), it is asked first, as soon as a request's head is
parsed and ``respond`` would take an answer, instead of starting an ASGI task: it answers
through ``respond`` there and then (True), declines having done nothing (None: the task
runs the app as usual), or returns the ASGI app the task must run instead. A request with
an ``X-Forwarded-For`` or ``X-Forwarded-Proto`` header, which the proxy-headers layer may
rewrite the scope for, always goes the ASGI way. A task per request is what uvicorn's
per-request work costs most after the parsing (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)

from spendcast.api.errors import error_body
from spendcast.settings import get_settings

MAX_URL_BYTES = 64 * 1024  # httptools refuses a longer URL
LINGER_SECONDS = 2.0
_PHRASES = {400: b"Bad Request", 431: b"Request Header Fields Too Large"}
RESPOND = "spendcast.respond"
_OK = STATUS_LINE[200]
_FORWARDED = (b"x-forwarded-for", b"x-forwarded-proto")
# ``answer_now(scope)``: True answered, None declined (nothing done), or the ASGI app to run.
AnswerNow = Callable[[Scope], "bool | ASGIApp | None"]


class _HeadTooLarge(Exception):
    """Raised inside a parser callback: httptools stops parsing and reports a parser error."""


class JsonErrorHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_header_bytes = get_settings().max_header_bytes
        self._header_bytes = 0  # of the current head, counted line by line
        # Between two requests or inside a head (where every byte received is head bytes).
        self._in_head = True
        self._head_streamed = 0  # bytes of chunks received while in_head, since the last reset
        self._too_large = False
        self._lingering = False
        self._respond_extension: dict[object, object] = {"respond": self.respond}
        # uvicorn's default headers, and the status line and those headers as bytes.
        self._defaults: tuple[object, bytes] = (None, b"")
        app = self.app
        self._proxied = isinstance(app, ProxyHeadersMiddleware)
        self._answer_now: AnswerNow | None = getattr(
            app.app if self._proxied else app, "answer_now", None
        )

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return  # answered already: what the client still sends is dropped
        if self._in_head:
            self._head_streamed += len(data)
        super().data_received(data)
        # Still in the same head (a reset would have zeroed the count): every byte counted
        # belongs to it.
        if (
            self._in_head
            and self._head_streamed > self.max_header_bytes + MAX_URL_BYTES
            and not self._lingering
            and not self.transport.is_closing()
        ):
            self._too_large = True
            self.send_400_response("")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        self.scope["extensions"] = {RESPOND: self._respond_extension}

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        answer_now = self._answer_now
        scope: Scope = cycle.scope  # type: ignore[assignment]
        if (
            answer_now is not None
            and app is self.app  # not uvicorn's 503 for an exceeded concurrency limit
            and self._may_respond(cycle)
            and not (self._proxied and _forwarded(scope))
        ):
            try:
                outcome = answer_now(scope)
            except Exception as exc:  # as for an app that raises: uvicorn logs it, answers 500
                outcome = _raising(exc)
            if outcome is True:
                return
            if outcome is not None:
                app = outcome
        super()._start_asgi_task(cycle, app)

    def _may_respond(self, cycle: RequestResponseCycle) -> bool:
        """``cycle`` is the request being answered now, and nothing stands in the way."""
        return not (
            cycle is not self.cycle
            or cycle.response_started
            or cycle.disconnected
            or cycle.access_log
            or self.flow.write_paused
        )

    def respond(self, scope: Any, headers: bytes, body: bytes) -> bool:
        """Write the whole 200 answer to ``scope``'s request, or return False (module doc)."""
        cycle = self.cycle
        if cycle is None or cycle.scope is not scope or not self._may_respond(cycle):
            return False
        cycle.response_started = True
        cycle.waiting_for_100_continue = False
        cycle.response_complete = True
        defaults = cycle.default_headers  # a new list each second (the date header)
        if defaults is not self._defaults[0]:
            lines = [b"%s: %s\r\n" % (name, value) for name, value in defaults]
            self._defaults = (defaults, _OK + b"".join(lines))
        end = b"\r\n" if cycle.keep_alive else b"connection: close\r\n\r\n"
        self.transport.write(b"".join((self._defaults[1], headers, end, body)))
        cycle.message_event.set()
        if not cycle.keep_alive:
            self.transport.close()
        cycle.on_response()
        return True

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value) + 4
        if self._header_bytes > self.max_header_bytes:
            self._too_large = True
            raise _HeadTooLarge
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_head = True
        self._head_streamed = 0
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        if self._too_large:
            status = 431
            message = (
                f"the request's headers are over the limit of {self.max_header_bytes} bytes "
                "(SPENDCAST_MAX_HEADER_BYTES)"
            )
        else:
            status = 400
            message = f"{msg.rstrip('.')}: malformed request line or headers, or a URL over 64 KiB"
        body = orjson.dumps(error_body(status, message))
        head = [b"HTTP/1.1 %d %s\r\n" % (status, _PHRASES[status])]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self._lingering = True
            self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()


def _forwarded(scope: Scope) -> bool:
    for name, _ in scope["headers"]:  # noqa: SIM110 (a generator per request costs more)
        if name in _FORWARDED:
            return True
    return False


def _raising(exc: Exception) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise exc

    return app
