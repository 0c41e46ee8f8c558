"""uvicorn internals ``spendcast serve`` builds on (bounded in pyproject.toml: uvicorn<0.55)."""

from __future__ import annotations

import inspect
import socket
import threading
import time

import orjson
import uvicorn
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http import httptools_impl

from spendcast.api.protocol import JsonErrorHttpToolsProtocol


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def test_http_tools_protocol_still_answers_parse_errors_through_send_400_response() -> None:
    protocol = getattr(httptools_impl, "HttpToolsProtocol", None)
    assert protocol is not None, (
        "uvicorn moved uvicorn.protocols.http.httptools_impl.HttpToolsProtocol: "
        "spendcast.api.protocol subclasses it"
    )
    assert list(inspect.signature(protocol.send_400_response).parameters) == ["self", "msg"], (
        "uvicorn changed HttpToolsProtocol.send_400_response(msg), which "
        "JsonErrorHttpToolsProtocol overrides to answer in the JSON error shape"
    )

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        _app, http=JsonErrorHttpToolsProtocol, loop="asyncio", log_level="critical", lifespan="off"
    )
    server = uvicorn.Server(config)
    assert hasattr(server, "started"), (
        "uvicorn removed Server.started: spendcast serve reads it to exit 3 when startup fails"
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "uvicorn did not start"
            time.sleep(0.01)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(b"GET /pre\xffdict HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = b""
            while chunk := client.recv(65536):
                answer += chunk
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()
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
