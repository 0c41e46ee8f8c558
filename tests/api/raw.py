"""Raw ASGI calls to an app whose lifespan runs: header lines as bytes, exactly as a server
hands them over (names lower-case, values untouched), which an HTTP client would normalise.

The lifespan runs in a ``TestClient``; each call runs on that client's event loop (its
``portal``), so the app is the real one with its recorder, access log and metrics.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from fastapi.testclient import TestClient

from spendcast.api.app import SpendcastAPI
from spendcast.api.runtime import Runtime
from spendcast.monitoring import count_rows

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
        answer: Answer = portal.call(_run, self.app, scope, body)
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


async def _run(app: SpendcastAPI, scope: dict[str, Any], body: bytes) -> Answer:
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

    try:
        await app(scope, receive, send)
    except Exception:
        # What a server does when the app raises before answering: a bare 500.
        if not any(m["type"] == "http.response.start" for m in sent):
            return Answer(500, [], b"")
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Answer(start["status"], list(start.get("headers", [])), content)
