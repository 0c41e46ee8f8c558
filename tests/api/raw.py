"""Raw ASGI calls to an app whose lifespan runs: header lines as bytes, exactly as a server
hands them over (names lower-case, values untouched), which an HTTP client would normalise.

The lifespan runs in a ``TestClient``; each call runs on that client's event loop (its
``portal``), so the app is the real one with its recorder, access log and metrics.

``answer_now=True`` calls the app as ``spendcast serve``'s protocol does (``server/protocol.py``):
``app.answer_now(scope)`` first, with a ``RESPOND`` extension that takes the answer, then the
ASGI call only if it declined (or the app it returned).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from fastapi.testclient import TestClient

from spendcast.api.app import SpendcastAPI
from spendcast.api.runtime import Runtime
from spendcast.monitoring import count_rows
from spendcast.server.contract import RESPOND

Headers = Sequence[tuple[bytes, bytes]]


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: bytes) -> bytes | None:
        return next((v for n, v in self.headers if n == name), None)


class RawApp:
    def __init__(self, app: SpendcastAPI, client: TestClient) -> None:
        self.app = app
        self.client = client

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    def call(
        self,
        method: str,
        path: str,
        query: bytes = b"",
        headers: Headers = (),
        body: bytes = b"",
        *,
        answer_now: bool = False,
    ) -> Answer:
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": unquote(path),
            "raw_path": path.encode(),
            "query_string": query,
            "root_path": "",
            "headers": [(b"host", b"testserver"), *headers],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
            "state": {},
        }
        portal = self.client.portal
        assert portal is not None, "use RawApp inside running_app()"
        answer: Answer = portal.call(_run, self.app, scope, body, answer_now)
        return answer

    def rows(self) -> int:
        """Rows in the database once the recorder has written everything recorded so far."""
        deadline = time.monotonic() + 30
        while self.runtime.recorder.stats().backlog:
            assert time.monotonic() < deadline, "the recorder did not drain"
            time.sleep(0.005)
        return count_rows(self.runtime.settings.database_url)


@contextmanager
def running_app(app: SpendcastAPI) -> Iterator[RawApp]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield RawApp(app, client)


async def _run(app: SpendcastAPI, scope: dict[str, Any], body: bytes, answer_now: bool) -> Answer:
    sent: list[MutableMapping[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    asgi: Any = app
    if answer_now and app.answer_now is not None:
        responded: list[Answer] = []
        scope["extensions"] = {RESPOND: {"respond": _taking(responded)}}
        outcome = app.answer_now(scope)
        if outcome is True:
            assert len(responded) == 1, "answer_now said it answered"
            return responded[0]
        assert not responded, "answer_now answered but did not say so"
        if outcome is not None:
            asgi = outcome
    try:
        await asgi(scope, receive, send)
    except Exception:
        # What a server does when the app raises before answering: a bare 500.
        if not any(m["type"] == "http.response.start" for m in sent):
            return Answer(500, [], b"")
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Answer(start["status"], list(start.get("headers", [])), content)


def _taking(answers: list[Answer]) -> Callable[[Any, bytes, bytes], bool]:
    """A ``respond`` that takes every answer, as the protocol's does when it asks
    ``answer_now``: header lines parsed back into pairs."""

    def respond(scope: Any, lines: bytes, body: bytes) -> bool:
        assert lines.endswith(b"\r\n")
        pairs = [line.split(b": ", 1) for line in lines.split(b"\r\n")[:-1]]
        answers.append(Answer(200, [(name, value) for name, value in pairs], body))
        return True

    return respond
