"""One real server per test module, the one error shape, and raw HTTP for what clients refuse to
send (non-UTF-8 bytes in a request line, a body announced but never sent)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from spendcast.monitoring import count_rows
from tests.reliability.support import serve
from tests.support.server import Server

TOKEN = "sec-token-4b7e9f0c2d"
GOOD_QUERY = "/predict?education=PhD&age=42&income=50000"
ERROR_KEYS = {"status", "code", "message", "details"}


@contextmanager
def module_server(
    directory: Path, model_dir: Path, *, token: str | None = TOKEN, workers: int = 1
) -> Iterator[Server]:
    """A server in ``directory`` on a copy of the trained model, SQLite, quick flushes; its
    output goes to ``directory/serve.log``."""
    models = directory / "models"
    models.mkdir()
    for artifact in model_dir.iterdir():
        (models / artifact.name).write_bytes(artifact.read_bytes())
    env = {
        "SPENDCAST_MODEL_DIR": str(models),
        "SPENDCAST_DATABASE_URL": f"sqlite:///{directory / 'spendcast.db'}",
        "SPENDCAST_LOG_FILE": str(directory / "api_logfile.log"),
        "SPENDCAST_JOURNAL_DIR": str(directory / "journal"),
        "SPENDCAST_RECORDER_FLUSH_SECONDS": "0.05",
    }
    if token is not None:
        env["SPENDCAST_API_TOKEN"] = token
    with serve(directory, workers=workers, env=env) as server:
        yield server


def assert_error_shape(status: int, content_type: str, body: bytes) -> dict[str, Any]:
    """``{"error": {"status", "code", "message"[, "details"]}}`` as JSON; returns the inner."""
    import orjson

    assert content_type.startswith("application/json"), (status, content_type, body[:200])
    document = orjson.loads(body)
    assert set(document) == {"error"}, document
    error: dict[str, Any] = document["error"]
    assert set(error) <= ERROR_KEYS, error
    assert {"status", "code", "message"} <= set(error), error
    assert error["status"] == status
    assert isinstance(error["code"], str)
    assert error["code"]
    assert isinstance(error["message"], str)
    assert error["message"]
    for detail in error.get("details", []):
        assert set(detail) == {"field", "message"}, detail
    return error


def assert_error_response(response: httpx.Response) -> dict[str, Any]:
    return assert_error_shape(
        response.status_code, response.headers.get("content-type", ""), response.content
    )


def raw_request(url: str, data: bytes, *, timeout: float = 20) -> tuple[int, dict[str, str], bytes]:
    """Send ``data`` as it is on a fresh connection; the status, headers and body answered
    (read up to its Content-Length: the server may keep the connection open)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed before a response: {received!r}"
            received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
        while len(body) < int(headers.get("content-length", "0")):
            chunk = sock.recv(65536)
            assert chunk, "connection closed in the middle of the body"
            body += chunk
    return int(lines[0].split()[1]), headers, body


def auth_headers(token: str | None = TOKEN) -> Mapping[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def settled_count(server: Server) -> int:
    """Rows in the database once this (single-worker) server has written everything."""
    deadline = time.monotonic() + 30
    while httpx.get(f"{server.url}/ready", timeout=10).json()["recorder"]["backlog"]:
        assert time.monotonic() < deadline, "the recorder did not drain"
        time.sleep(0.05)
    return count_rows(f"sqlite:///{server.database_path}")
