"""The protocol serves each app with its own limits, on a real uvicorn server in this process:
``create_app(settings)``'s header limit, and the head deadline and the connection cap
(``server/guard.py``) of an app that carries only its ``server_limits``."""

from __future__ import annotations

import socket
import time
from dataclasses import replace
from pathlib import Path

import orjson
from starlette.types import Receive, Scope, Send

from spendcast.api.app import create_app
from spendcast.server.contract import DEFAULT_LIMITS
from spendcast.server.guard import EVICT_AFTER
from tests.api.conftest import make_settings
from tests.support.threaded_server import serving
from tests.support.wire import read_answers, read_to_close

REQUEST = b"GET /predict?education=PhD&age=42&income=50000 HTTP/1.1\r\nHost: x\r\n%s\r\n"


class _Limited:
    """A bare ASGI app (every request: 200 ``ok``) served with the given limits."""

    def __init__(self, *, head_timeout: float = 10.0, max_connections: int | None = None) -> None:
        self.server_limits = replace(
            DEFAULT_LIMITS, head_timeout_seconds=head_timeout, max_connections=max_connections
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = [(b"content-length", b"2")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b"ok"})


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=20)


def _status(head: bytes) -> int:
    return int(head.split(b" ", 2)[1])


def _error(answer: bytes) -> dict[str, object]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head, head
    error: dict[str, object] = orjson.loads(body)["error"]
    assert error["status"] == _status(head)
    return error


def test_an_apps_own_header_limit_is_the_one_served(workdir: Path) -> None:
    app = create_app(make_settings(workdir, max_header_bytes=2048))
    with serving(app, lifespan="on") as port:
        with _connect(port) as client:
            client.sendall(REQUEST % (b"X-Pad: %s\r\n" % (b"a" * 1500)))
            [(head, body)] = read_answers(client, 1)
        with _connect(port) as client:
            client.sendall(REQUEST % (b"X-Pad: %s\r\n" % (b"a" * 3000)))
            refused = read_to_close(client)
    assert _status(head) == 200, head
    assert float(body) > 0
    assert refused.startswith(b"HTTP/1.1 431 "), refused[:200]
    assert "2048 bytes" in str(_error(refused)["message"])


def test_a_late_head_gets_408_a_silent_connection_is_closed_idle_time_is_free() -> None:
    with (
        serving(_Limited(head_timeout=0.5), timeout_keep_alive=30) as port,
        _connect(port) as slow,
        _connect(port) as silent,
        _connect(port) as kept,
    ):
        kept.sendall(REQUEST % b"")
        first = read_answers(kept, 1)
        slow.sendall(b"GET /predict?education=PhD HTTP/1.1\r\nHost: x\r\n")
        late = read_to_close(slow)
        nothing = read_to_close(silent)
        time.sleep(0.6)  # idle on a kept-alive connection: not counted in the deadline
        kept.sendall(REQUEST % b"")
        second = read_answers(kept, 1)
    assert late.startswith(b"HTTP/1.1 408 "), late[:200]
    assert "0.5 s" in str(_error(late)["message"])
    assert nothing == b""
    assert [_status(head) for head, _ in (*first, *second)] == [200, 200]


def test_over_the_cap_a_new_connection_gets_503_when_no_one_waits_for_a_head() -> None:
    with serving(_Limited(max_connections=3), timeout_keep_alive=30) as port:
        kept = [_connect(port) for _ in range(3)]
        try:
            for client in kept:  # answered, then idle between requests: never evicted
                client.sendall(REQUEST % b"")
                assert _status(read_answers(client, 1)[0][0]) == 200
            with _connect(port) as extra:
                refused = read_to_close(extra)
            kept[0].sendall(REQUEST % b"")
            still = read_answers(kept[0], 1)
        finally:
            for client in kept:
                client.close()
    assert refused.startswith(b"HTTP/1.1 503 "), refused[:200]
    assert b"retry-after: 1\r\n" in refused
    assert _error(refused)["code"] == "unavailable"
    assert _status(still[0][0]) == 200


def test_over_the_cap_the_connection_waiting_longest_for_its_head_makes_room() -> None:
    with serving(_Limited(max_connections=3)) as port:
        waiting = [_connect(port) for _ in range(3)]
        try:
            waiting[2].sendall(b"GET /predict?educ")  # a head begun, never finished
            time.sleep(EVICT_AFTER + 0.3)
            with _connect(port) as newcomer:
                newcomer.sendall(REQUEST % b"")
                served = read_answers(newcomer, 1)
            evicted = read_to_close(waiting[0])  # the oldest, closed unanswered
        finally:
            for client in waiting:
                client.close()
    assert _status(served[0][0]) == 200
    assert evicted == b""
