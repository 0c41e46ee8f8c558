"""uvicorn internals ``spendcast serve`` builds on (bounded in pyproject.toml: uvicorn<0.55)."""

from __future__ import annotations

import inspect
import socket
import time
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http import httptools_impl

from spendcast.server.contract import RESPOND
from tests.support.threaded_server import serving as _serving
from tests.support.wire import read_answers as _read_answers
from tests.support.wire import read_to_close as _read_to_close


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def test_http_tools_protocol_still_answers_parse_errors_through_send_400_response() -> None:
    protocol = getattr(httptools_impl, "HttpToolsProtocol", None)
    assert protocol is not None, (
        "uvicorn moved uvicorn.protocols.http.httptools_impl.HttpToolsProtocol: "
        "spendcast.server.protocol subclasses it"
    )
    assert list(inspect.signature(protocol.send_400_response).parameters) == ["self", "msg"], (
        "uvicorn changed HttpToolsProtocol.send_400_response(msg), which "
        "JsonErrorHttpToolsProtocol overrides to answer in the JSON error shape"
    )

    with _serving(_app) as port, socket.create_connection(("127.0.0.1", port), 10) as client:
        client.sendall(b"GET /pre\xffdict HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = _read_to_close(client)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), (
        f"uvicorn's httptools protocol no longer calls send_400_response on a parse error: {head!r}"
    )
    assert b"content-type: application/json" in head
    assert orjson.loads(body)["error"]["code"] == "bad_request"


def test_multiprocess_supervisor_takes_a_config_and_the_sockets() -> None:
    from uvicorn import supervisors

    supervisor = getattr(supervisors, "Multiprocess", None)
    assert supervisor is not None, (
        "uvicorn moved uvicorn.supervisors.Multiprocess: spendcast serve --workers N runs it"
    )
    parameters = inspect.signature(supervisor).parameters
    changed = f"uvicorn changed Multiprocess(config, sockets=...): now {list(parameters)}"
    assert list(parameters)[:1] == ["config"], changed
    assert "sockets" in parameters, changed
    assert callable(getattr(supervisor, "run", None)), "uvicorn removed Multiprocess.run()"


def test_logging_config_has_the_default_handler_serve_extends() -> None:
    from uvicorn.config import LOGGING_CONFIG

    assert "default" in LOGGING_CONFIG["handlers"], (
        "uvicorn's LOGGING_CONFIG lost its 'default' handler, which spendcast's logger uses"
    )
    assert isinstance(LOGGING_CONFIG["loggers"], dict)


async def _respond_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers through ``RESPOND`` when it takes the answer, else through ``send``; the body
    says which."""
    if scope["type"] != "http":
        return
    respond = scope["extensions"][RESPOND]["respond"]
    if respond(scope, b"content-length: 7\r\ncontent-type: text/plain\r\n", b"respond"):
        assert not respond(scope, b"content-length: 4\r\n", b"dup!"), "answered twice"
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"4")]}
    )
    await send({"type": "http.response.body", "body": b"send"})


def test_the_respond_extension_completes_requests_as_send_does() -> None:
    """What ``JsonErrorHttpToolsProtocol.respond`` reads and sets of uvicorn's request cycle,
    checked on a real server: keep-alive, pipelined requests (the second and third are not
    the request being answered when parsed: ``send`` answers them or ``respond`` does once
    they run), ``Connection: close``, HTTP/1.0, and a date header that follows uvicorn's."""
    cycle = httptools_impl.RequestResponseCycle
    init = list(inspect.signature(cycle.__init__).parameters)
    for name in (
        "scope",
        "transport",
        "default_headers",
        "message_event",
        "keep_alive",
        "on_response",
        "access_log",
    ):
        assert name in init, f"uvicorn's RequestResponseCycle no longer takes {name}: see respond()"
    assert httptools_impl.STATUS_LINE[200] == b"HTTP/1.1 200 OK\r\n"
    request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    with _serving(_respond_app) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(request)
            first = _read_answers(client, 1)
            time.sleep(1.5)  # uvicorn's tick assigns a new default header list, a new date
            client.sendall(request)
            later = _read_answers(client, 1)
            client.sendall(request * 3)
            pipelined = _read_answers(client, 3)
            client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            closing = _read_to_close(client)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(b"GET / HTTP/1.0\r\n\r\n")
            old = _read_to_close(client)
    head, body = first[0]
    assert body == b"respond"
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert {line.split(b":")[0] for line in lines[1:]} == {
        b"date",
        b"server",
        b"content-length",
        b"content-type",
    }
    dates = [_date(head) for head, _ in (*first, *later)]
    assert dates[0] != dates[1], "respond() kept the date of an earlier second"
    assert {body for _, body in pipelined} <= {b"respond", b"send"}
    for answer in (closing, old):
        assert answer.endswith(b"\r\n\r\nrespond") or answer.endswith(b"\r\n\r\nsend"), answer
        assert b"connection: close\r\n" in answer


def _date(head: bytes) -> bytes:
    return next(line for line in head.split(b"\r\n") if line.startswith(b"date:"))


class _AnswersNow:
    """An app with ``answer_now``: ``/now`` answered through ``respond`` there and then,
    ``/later`` through the ASGI app it returns, ``/raise`` raises, the rest declined; the ASGI
    call answers ``asgi``."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await _send_body(send, b"asgi")

    def answer_now(self, scope: Scope) -> Any:
        self.asked.append(scope["path"])
        if scope["path"] == "/now":
            respond = scope["extensions"][RESPOND]["respond"]
            assert respond(scope, b"content-length: 3\r\ncontent-type: text/plain\r\n", b"now")
            return True
        if scope["path"] == "/later":
            return lambda scope, receive, send: _send_body(send, b"later")
        if scope["path"] == "/raise":
            raise RuntimeError("answer_now failed")
        return None


async def _send_body(send: Send, body: bytes) -> None:
    length = str(len(body)).encode()
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", length)]}
    )
    await send({"type": "http.response.body", "body": body})


def _get(path: str, *lines: bytes, version: bytes = b"1.1") -> bytes:
    return b"GET %s HTTP/%s\r\nHost: x\r\n%s\r\n" % (path.encode(), version, b"".join(lines))


def test_answer_now_is_asked_instead_of_a_task_and_completes_requests_as_send_does() -> None:
    """``JsonErrorHttpToolsProtocol._start_asgi_task`` asks the app behind uvicorn's
    proxy-headers layer first: its answers keep the connection alive, follow pipelined
    requests, close on ``Connection: close`` and HTTP/1.0; a forwarded request, and a
    pipelined one parsed while another is answered, go the ASGI way."""
    parameters = list(
        inspect.signature(httptools_impl.HttpToolsProtocol._start_asgi_task).parameters
    )
    assert parameters == ["self", "cycle", "app"], (
        f"uvicorn changed HttpToolsProtocol._start_asgi_task(cycle, app): now {parameters}; "
        "JsonErrorHttpToolsProtocol overrides it to ask answer_now first"
    )
    app = _AnswersNow()
    with _serving(app) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(_get("/now"))
            first = _read_answers(client, 1)
            client.sendall(_get("/now") + _get("/later") + _get("/other"))
            mixed = _read_answers(client, 3)
            client.sendall(_get("/now", b"X-Forwarded-For: 10.1.2.3\r\n"))
            forwarded = _read_answers(client, 1)
            client.sendall(_get("/now") * 3)
            pipelined = _read_answers(client, 3)
            client.sendall(_get("/now", b"Connection: close\r\n"))
            closing = _read_to_close(client)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(_get("/now", version=b"1.0"))
            old = _read_to_close(client)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(_get("/raise"))
            failed = _read_to_close(client)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(_get("/now"))
            after = _read_answers(client, 1)
    head, body = first[0]
    assert body == b"now"
    assert {line.split(b":")[0] for line in head.split(b"\r\n")[1:]} == {
        b"date",
        b"server",
        b"content-length",
        b"content-type",
    }
    assert [body for _, body in mixed] == [b"now", b"later", b"asgi"]
    assert forwarded[0][1] == b"asgi", "the proxy-headers layer must see a forwarded request"
    assert pipelined[0][1] == b"now"
    assert {body for _, body in pipelined} <= {b"now", b"asgi"}
    for answer in (closing, old):
        assert answer.endswith(b"\r\n\r\nnow"), answer
        assert b"connection: close\r\n" in answer
    assert failed.startswith(b"HTTP/1.1 500"), failed
    assert after[0][1] == b"now"
    assert "/other" in app.asked
    assert "/raise" in app.asked
    assert app.asked.count("/now") >= 6  # first, mixed, pipelined[0], closing, old, after
