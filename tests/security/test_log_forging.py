"""No request can forge a line of the API log or of the server's log: every control byte
(0x00-0x1f, 0x7f), raw where the HTTP parser lets it through and percent-encoded otherwise, in
the path, the query and a header the log reads (X-Forwarded-For, which uvicorn trusts from
127.0.0.1); then the log file is read by a parser, in text and in JSON."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.support import TOKEN, module_server, raw_request
from tests.support.server import Server, running_server

pytestmark = pytest.mark.e2e

CONTROL_BYTES = [*range(0x20), 0x7F]
FORGERY = "2099-01-01T00:00:00.000+00:00 6.6.6.6:1 GET /train 200 0.1ms"
TEXT_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d (?P<client>\S+) (?P<method>[A-Z]+) "
    r"(?P<path>/\S*) (?P<status>\d{3}) \d+\.\d\dms$"
)


def _requests() -> list[bytes]:
    """Every control byte in every place, raw and percent-encoded, each with a forged line."""
    forged = FORGERY.replace(" ", "%20")
    requests = []
    for byte in CONTROL_BYTES:
        raw, encoded = bytes([byte]), f"%{byte:02X}".encode()
        for path in (b"/predict" + encoded + forged.encode(), b"/predict" + raw + b"x"):
            requests.append(b"GET " + path + b"?education=PhD&age=1&income=2 HTTP/1.1\r\n")
        for query in (encoded + forged.encode(), raw):
            requests.append(b"GET /health?q=" + query + b" HTTP/1.1\r\n")
        requests.append(
            b"GET /health HTTP/1.1\r\nX-Forwarded-For: 10.0.0.1" + raw + FORGERY.encode() + b"\r\n"
        )
        requests.append(b"GET /health HTTP/1.1\r\nUser-Agent: a" + raw + b"b\r\n")
    for raw in (b"\x85", b"\xe2\x80\xa8", b"\xc2\x85"):  # line breaks beyond ASCII, raw
        requests.append(
            b"GET /health HTTP/1.1\r\nX-Forwarded-For: 10.0.0.1" + raw + FORGERY.encode() + b"\r\n"
        )
    return [
        request + f"Host: x\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n".encode()
        for request in requests
    ]


def _send_all(server: Server) -> int:
    """Send every request; how many reached the app (not refused by the HTTP parser)."""
    reached = 0
    for request in _requests():
        status, _, body = raw_request(server.url, request)
        parser_refused = status == 400 and b"malformed request line" in body
        reached += not parser_refused
    return reached


def _settled_lines(server: Server, reached: int) -> list[str]:
    server.stop()  # the API log is flushed on shutdown
    lines = server.log_path.read_text(encoding="utf-8").splitlines()
    # The readiness checks of the launcher are logged too; these requests never ask /ready.
    ours = [line for line in lines if " GET /ready " not in line and '"/ready"' not in line]
    assert len(ours) == reached, "one line per request that reached the app"
    return ours


def _no_forged_server_log_line(server: Server) -> None:
    output = (server.workdir / "serve.log").read_text(errors="replace")
    assert not any(line.startswith(("2099-", "6.6.6.6")) for line in output.splitlines())


@pytest.fixture
def text_server(tmp_path: Path, trained_model_dir: Path) -> Iterator[Server]:
    with module_server(tmp_path, trained_model_dir) as running:
        yield running


def test_no_control_byte_forges_a_text_log_line(text_server: Server) -> None:
    reached = _send_all(text_server)
    assert reached >= 2 * len(CONTROL_BYTES)  # at least every percent-encoded path and query
    lines = _settled_lines(text_server, reached)
    for line in lines:
        match = TEXT_LINE.match(line)
        assert match, repr(line)
        assert match["path"] != "/train"
        assert match["client"] != "6.6.6.6:1"
    forged_paths = [line for line in lines if "2099-01-01" in line]
    assert len(forged_paths) >= len(CONTROL_BYTES)  # the forgeries are there, escaped
    _no_forged_server_log_line(text_server)


def test_no_control_byte_forges_a_json_log_line(workdir: Path) -> None:
    with running_server(workdir, token=TOKEN, extra_args=("--log-format", "json")) as server:
        reached = _send_all(server)
        time.sleep(0.3)  # some lines flushed by the timer, the rest at the stop
    lines = _settled_lines(server, reached)
    documents = [json.loads(line) for line in lines]
    assert {d["path"] for d in documents} >= {
        f"/predict{chr(byte)}{FORGERY}" for byte in CONTROL_BYTES
    }  # exact values, each on its own line
    assert all(set(d) == {"time", "client", "method", "path", "status", "duration_ms"}
               for d in documents)  # fmt: skip
