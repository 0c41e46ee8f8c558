"""The HTTP protocol ``spendcast serve`` runs: uvicorn's httptools one, with its limits and
errors made spendcast's, and one addition.

Limits come from the app it serves (``server_limits``, built by ``create_app(settings)``;
the settings' defaults for an app without them): each app is served with its own settings.

1. A request its parser refuses (raw bytes that are not ASCII in the request line, a broken
   header) is answered 400 in the one JSON error shape, not plain text; so is a URL over
   64 KiB (counted as it streams in), an HTTP/1.1 request without ``Host`` or any request with
   two (RFC 9112 3.2), and a ``Transfer-Encoding`` whose last coding is not ``chunked``
   (RFC 9112 6.3): all refused before the app sees the request.
2. A header section over ``max_header_bytes`` (names + values + 4 separator bytes per line)
   is answered 431 in that shape. Each header line is counted as the parser completes it, and
   the parser stops at the first line over the limit; a line that never ends (one 1 MB
   ``Authorization``) is caught as it streams in: a head still open after more than
   ``limit + 64 KiB`` bytes is refused without waiting for its end.
3. A head not complete ``head_timeout_seconds`` after the connection opened (or after its
   first byte, on a kept-alive connection) is answered 408; a connection that sent nothing
   is closed. Connections over the cap are answered 503 (``server/guard.py``).

Such a request never reaches the app: it is neither in the API log nor in the metrics. An
earlier request of the same connection still being answered (pipelined, or read in the same
packet) is answered first: the refusal waits for its answer, so that no request is recorded
whose 200 could not be written. The refusal is followed by a lingering close, as nginx does:
the server half-closes, then reads and drops what the client still sends for up to
``LINGER_SECONDS``. Closing at once with unread bytes would make the kernel reset the
connection, and a client still sending its head would lose the answer.

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

import asyncio
import weakref
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)
from uvicorn.server import ServerState

from spendcast.api.errors import RETRY_AFTER_SECONDS, error_body
from spendcast.server.contract import DEFAULT_LIMITS, RESPOND, AnswerNow, ServerLimits
from spendcast.server.guard import Admission, ConnectionGuard

MAX_URL_BYTES = 64 * 1024
LINGER_SECONDS = 2.0
_OK = STATUS_LINE[200]
_FORWARDED = (b"x-forwarded-for", b"x-forwarded-proto")
_GUARDS: weakref.WeakKeyDictionary[ServerState, ConnectionGuard] = weakref.WeakKeyDictionary()


class _Refused(Exception):
    """Raised inside a parser callback once ``_refusal`` is set: httptools stops parsing and
    reports a parser error, which uvicorn hands to ``send_400_response``."""


class JsonErrorHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        app = self.app
        self._proxied = isinstance(app, ProxyHeadersMiddleware)
        inner = app.app if self._proxied else app
        limits: ServerLimits = getattr(inner, "server_limits", DEFAULT_LIMITS)
        self.max_header_bytes = limits.max_header_bytes
        self._answer_now: AnswerNow | None = getattr(inner, "answer_now", None)
        guard = _GUARDS.get(self.server_state)
        if guard is None:
            guard = _GUARDS[self.server_state] = ConnectionGuard(
                self.loop, self.connections, limits.head_timeout_seconds, limits.max_connections
            )
        self._guard = guard
        self._header_bytes = 0  # of the current head, counted line by line
        self._hosts = 0  # Host lines of the current head
        self._coding: bytes | None = None  # its last Transfer-Encoding line
        # Between two requests or inside a head (where every byte received is head bytes).
        self._in_head = True
        self._head_streamed = 0  # bytes of chunks received while in_head, since the last reset
        self._head_begun = False  # a byte of the current head was parsed
        self.head_since: float | None = None  # waiting for a head since (server/guard.py)
        self._refusal: tuple[int, str] | None = None  # what the parser error will answer
        self._refused = False  # answered (or about to be) with an error: drop what comes
        self._pending: bytes | None = None  # an error answer waiting for earlier answers
        self._respond_extension: dict[object, object] = {"respond": self.respond}
        # uvicorn's default headers, and the status line and those headers as bytes.
        self._defaults: tuple[object, bytes] = (None, b"")

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.head_since = self.loop.time()
        admission = self._guard.admit()
        if admission is Admission.REFUSE:
            self._refuse(
                503,
                "the server holds as many connections as it may: retry later",
                b"retry-after: %d\r\n" % RETRY_AFTER_SECONDS,
            )
        elif admission is Admission.DROP:
            self.head_since = None
            self._refused = True
            transport.close()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # answered already: what the client still sends is dropped
        if self._in_head:
            self._head_streamed += len(data)
        super().data_received(data)
        # Still in the same head (a reset would have zeroed the count): every byte counted
        # belongs to it.
        if (
            self._in_head
            and self._head_streamed > self.max_header_bytes + MAX_URL_BYTES
            and not self._refused
            and not self.transport.is_closing()
        ):
            self._refuse(431, self._too_large())

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = self._hosts = 0
        self._coding = None
        self._head_begun = True
        if self.head_since is None:
            self.head_since = self.loop.time()
        self.scope["extensions"] = {RESPOND: self._respond_extension}

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_URL_BYTES:
            self._refusal = (400, "the URL is over 64 KiB")
            raise _Refused

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value) + 4
        if self._header_bytes > self.max_header_bytes:
            self._refusal = (431, self._too_large())
            raise _Refused
        super().on_header(name, value)
        lowered = self.headers[-1][0]
        if lowered == b"host":
            self._hosts += 1
        elif lowered == b"transfer-encoding":
            self._coding = value

    def on_headers_complete(self) -> None:
        self._in_head = self._head_begun = False
        self.head_since = None
        if self._hosts != 1 and (self._hosts or self.parser.get_http_version() == "1.1"):
            self._refusal = (400, "a request carries at most one Host header, HTTP/1.1 exactly one")
            raise _Refused
        coding = self._coding
        if coding is not None and coding.rpartition(b",")[2].strip().lower() != b"chunked":
            self._refusal = (400, "a Transfer-Encoding whose last coding is not chunked")
            raise _Refused
        super().on_headers_complete()

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

    def on_message_complete(self) -> None:
        self._in_head = True
        self._head_streamed = 0
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._pending is not None and not self._answering():
            self._write_refusal(self._pending)

    def head_timed_out(self, evicted: bool) -> None:
        """The head is late (``evicted``: the server needs the room): 408 once it began,
        else the connection closes unanswered (``server/guard.py``)."""
        self.head_since = None
        if self._head_begun and not evicted:
            seconds = self._guard.head_timeout
            self._refuse(408, f"the request's head did not arrive within {seconds:g} s")
        else:
            self._refused = True
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a parser error: in the error shape, with the reason found."""
        status, message = self._refusal or (
            400,
            f"{msg.rstrip('.')}: malformed request line or headers",  # httptools' own
        )
        self._refuse(status, message)

    def _too_large(self) -> str:
        return (
            f"the request's headers are over the limit of {self.max_header_bytes} bytes "
            "(SPENDCAST_MAX_HEADER_BYTES)"
        )

    def _refuse(self, status: int, message: str, headers: bytes = b"") -> None:
        """Answer ``status`` and close, once every earlier request of the connection has its
        answer; drop whatever the client sends from now on."""
        self._refused = True
        self.head_since = None
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete and cycle.more_body:
            # Its body will never be read: the app sees a disconnect, and writes nothing.
            cycle.disconnected = True
            cycle.message_event.set()
        body = orjson.dumps(error_body(status, message))
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            headers,
            b"connection: close\r\n\r\n",
        ]
        answer = b"".join(head) + body
        if self._answering():
            self._pending = answer
        else:
            self._write_refusal(answer)

    def _answering(self) -> bool:
        """An earlier request, fully read, still waits for its answer."""
        cycle = self.cycle
        return bool(self.pipeline) or (
            cycle is not None and not cycle.response_complete and not cycle.disconnected
        )

    def _write_refusal(self, answer: bytes) -> None:
        self._pending = None
        if self.transport.is_closing():
            return
        self.transport.write(answer)
        if self.transport.can_write_eof():
            self.transport.write_eof()
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
