"""A run's context: the model version the server names, the command line without secrets."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from spendcast.loadtest.history.metadata import (
    Machine,
    RunMetadata,
    command_line,
    git_state,
    model_version,
)


@contextmanager
def server(status: int, headers: dict[str, str], body: bytes) -> Iterator[str]:
    """A real HTTP server on a free port answering every GET the same way."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/prefix/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_the_model_version_header_wins_then_the_ready_body() -> None:
    with server(200, {"X-Model-Version": "abc123"}, b'{"model_version": "other"}') as url:
        assert model_version(url) == "abc123"
    with server(503, {}, json.dumps({"model_version": "from-body"}).encode()) as url:
        assert model_version(url) == "from-body"  # a 503 /ready still names its model
    with server(200, {}, b"<html>not json</html>") as url:
        assert model_version(url) is None
    assert model_version("http://127.0.0.1:1") is None  # nothing listens: no version, no error


def test_the_command_line_keeps_no_password() -> None:
    line = command_line(["/x/__main__.py", "loadtest", "--host=https://me:pw@api.example/p?t=1",
                         "--users", "3 4"])  # fmt: skip
    assert line == "spendcast loadtest --host=https://api.example/p --users '3 4'"
    assert "pw" not in command_line(["x", "compare", "http://u:pw@h:1"])


def test_outside_a_repository_there_is_no_commit(tmp_path: Path) -> None:
    assert git_state(tmp_path) == (None, None)


def test_the_metadata_file_reads_back(tmp_path: Path) -> None:
    meta = RunMetadata("ui", None, "2026-12-07T05:00:00.000Z", Machine("CPU", 8), "0.1.0",
                       "c" * 40, True, "v1", 5.0, extra={"label": "x"})  # fmt: skip
    meta.write(tmp_path)
    assert RunMetadata.read(tmp_path) == meta
    assert RunMetadata.read(tmp_path / "nothing") is None
