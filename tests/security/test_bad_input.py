"""Hostile and broken requests against the real server: each gets a 4xx in the one error shape,
records nothing, and a good prediction still answers 200 right after."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.security.support import (
    GOOD_QUERY,
    TOKEN,
    assert_error_response,
    assert_error_shape,
    auth_headers,
    module_server,
    raw_request,
    settled_count,
)
from tests.support.server import Server

pytestmark = pytest.mark.e2e

JSON = {"Content-Type": "application/json"}
ROW = '{"education": "PhD", "age": 42, "income": %s}'
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
BIG = 10 * 1024 * 1024


def _rows(count: int, income: str = "1") -> bytes:
    return ("[" + ",".join([ROW % income] * count) + "]").encode()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, trained_model_dir: Path) -> Iterator[Server]:
    with module_server(tmp_path_factory.mktemp("bad-input"), trained_model_dir) as running:
        yield running


def _query(**values: str) -> str:
    base = {"education": "PhD", "age": "42", "income": "50000"} | values
    return "/predict?" + "&".join(f"{name}={value}" for name, value in base.items())


# (id, method, target, extra headers, body): the target is sent as written (no re-encoding).
CASES: list[tuple[str, str, str, dict[str, str], bytes | None]] = [
    ("income-nan", "GET", _query(income="nan"), {}, None),
    ("income-NaN", "GET", _query(income="NaN"), {}, None),
    ("income-inf", "GET", _query(income="inf"), {}, None),
    ("income-minus-inf", "GET", _query(income="-inf"), {}, None),
    ("income-Infinity", "GET", _query(income="Infinity"), {}, None),
    ("income-1e400", "GET", _query(income="1e400"), {}, None),
    ("income-negative", "GET", _query(income="-0.01"), {}, None),
    ("income-absurd", "GET", _query(income="1e308"), {}, None),
    ("income-60k-digits", "GET", _query(income="9" * 60_000), {}, None),
    ("age-nan", "GET", _query(age="nan"), {}, None),
    ("age-negative", "GET", _query(age="-1"), {}, None),
    ("age-absurd", "GET", _query(age="121"), {}, None),
    ("age-fraction", "GET", _query(age="30.5"), {}, None),
    ("age-5000-digits", "GET", _query(age="1" * 5000), {}, None),
    ("education-unknown", "GET", _query(education="Doctor"), {}, None),
    ("education-empty", "GET", _query(education=""), {}, None),
    ("education-not-utf8", "GET", _query(education="%FF%FE"), {}, None),
    ("education-nul", "GET", _query(education="PhD%00"), {}, None),
    ("no-parameters", "GET", "/predict", {}, None),
    ("only-unknown-parameters", "GET", "/predict?edu=PhD&years=42&salary=1", {}, None),
    ("post-malformed-json", "POST", "/predict", JSON, b'[{"education": "PhD",'),
    ("post-not-utf8", "POST", "/predict", JSON, b"\xff\xfe[\x00]"),
    ("post-nan", "POST", "/predict", JSON, _rows(1, "NaN")),
    ("post-infinity", "POST", "/predict", JSON, _rows(1, "Infinity")),
    ("post-minus-infinity", "POST", "/predict", JSON, _rows(1, "-Infinity")),
    ("post-1e999", "POST", "/predict", JSON, _rows(1, "1e999")),
    ("post-negative-income", "POST", "/predict", JSON, _rows(1, "-5")),
    ("post-absurd-age", "POST", "/predict", JSON, _rows(1).replace(b"42", b"1e9")),
    ("post-unknown-keys-only", "POST", "/predict", JSON, b'[{"foo": 1}]'),
    ("post-object", "POST", "/predict", JSON, ROW.replace("%s", "1").encode()),
    ("post-null", "POST", "/predict", JSON, b"null"),
    ("post-numbers", "POST", "/predict", JSON, b"[1, 2, 3]"),
    ("post-empty", "POST", "/predict", JSON, b""),
    ("post-deep-nesting", "POST", "/predict", JSON, b"[" * 100_000 + b"]" * 100_000),
    ("post-text-plain", "POST", "/predict", {"Content-Type": "text/plain"}, b"[]"),
    ("post-form", "POST", "/predict", FORM, b"age=3"),
    ("post-no-content-type", "POST", "/predict", {}, _rows(1)),
    ("post-over-batch-limit", "POST", "/predict", JSON, _rows(1001)),
    ("post-10MB", "POST", "/predict", JSON, _rows(BIG // 50)),
    ("put-predict", "PUT", GOOD_QUERY, {}, None),
    ("unknown-route", "GET", "/predictions", {}, None),
]  # fmt: skip


def _assert_still_serving_and_nothing_recorded(server: Server, before: int) -> None:
    good = httpx.get(server.url + GOOD_QUERY, headers=auth_headers(), timeout=10)
    assert good.status_code == 200, good.text
    assert settled_count(server) == before + 1  # the good one only


@pytest.mark.parametrize(
    ("method", "target", "headers", "body"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_request_is_a_4xx_in_the_error_shape_and_records_nothing(
    server: Server, method: str, target: str, headers: dict[str, str], body: bytes | None
) -> None:
    before = settled_count(server)
    with httpx.Client(timeout=60) as client:
        request = client.build_request(
            method,
            httpx.URL(server.url + target),
            headers={**auth_headers(), **headers},
            content=body,
        )
        response = client.send(request)
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert_error_response(response)
    _assert_still_serving_and_nothing_recorded(server, before)


@pytest.mark.parametrize(
    "request_line",
    [
        b"GET /predict?education=Ph\xffD&age=42&income=50000 HTTP/1.1",
        b"GET /pre\xffdict?education=PhD&age=42&income=50000 HTTP/1.1",
        b"GET /predict?education=PhD&age=42&income=5\x00 HTTP/1.1",
        f"GET {GOOD_QUERY}&pad={'a' * 100_000} HTTP/1.1".encode(),
    ],
    ids=["non-utf8-query", "non-utf8-path", "nul", "query-100k"],
)
def test_a_request_line_the_http_parser_refuses_gets_the_error_shape(
    server: Server, request_line: bytes
) -> None:
    before = settled_count(server)
    request = request_line + f"\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode()
    status, headers, body = raw_request(server.url, request)
    assert 400 <= status < 500
    assert_error_shape(status, headers.get("content-type", ""), body)
    _assert_still_serving_and_nothing_recorded(server, before)


def test_a_huge_body_is_refused_before_it_is_read(server: Server) -> None:
    """10 MB announced, 64 KB sent: the 413 comes without waiting for (or buffering) the rest."""
    before = settled_count(server)
    head = (
        f"POST /predict HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {BIG}\r\n\r\n"
    ).encode()
    status, headers, body = raw_request(server.url, head + b"[" + b" " * 65_536)
    assert status == 413
    assert_error_shape(status, headers.get("content-type", ""), body)
    _assert_still_serving_and_nothing_recorded(server, before)


def _send_head_while_reading(url: str, head: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``head`` in 16 KiB pieces, stopping as soon as an answer arrives; the status,
    headers and body answered (read until the server closes)."""
    host, port = url.removeprefix("http://").split(":")
    sent = 0
    received = b""
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        while sent < len(head):
            if select.select([sock], [], [], 0)[0]:
                break  # answered before the head was complete
            try:
                sent += sock.send(head[sent : sent + 16_384])
            except (BrokenPipeError, ConnectionResetError):
                break
        while chunk := sock.recv(65_536):
            received += chunk
    top, _, body = received.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize(
    ("headers", "ends"),
    [
        # 1 MB that never ends: answered while the head is still open, not at its end.
        ([("Authorization", "Bearer " + "x" * 1024 * 1024)], False),
        ([("Authorization", "Bearer " + "x" * 40_000)], True),  # over the 32 KiB default
        ([(f"X-Pad-{i}", "y" * 1000) for i in range(40)], True),  # 40 lines of 1 KB
    ],
    ids=["authorization-1mb-unfinished", "authorization-40kb", "40-headers-of-1kb"],
)
def test_oversized_headers_are_refused_with_431_before_the_app(
    server: Server, headers: list[tuple[str, str]], ends: bool
) -> None:
    before = settled_count(server)
    lines_before = len(server.log_path.read_text().splitlines())
    head = f"GET {GOOD_QUERY} HTTP/1.1\r\nHost: x\r\n".encode()
    head += b"".join(f"{name}: {value}\r\n".encode() for name, value in headers)
    status, response_headers, body = _send_head_while_reading(server.url, head + b"\r\n" * ends)
    assert status == 431
    error = assert_error_shape(status, response_headers.get("content-type", ""), body)
    assert error["code"] == "request_header_fields_too_large"
    assert "SPENDCAST_MAX_HEADER_BYTES" in error["message"]
    _assert_still_serving_and_nothing_recorded(server, before)
    time.sleep(0.3)  # the API log writer flushes every 0.1 s
    log = server.log_path.read_text().splitlines()[lines_before:]
    assert not any(" 431 " in line for line in log)  # never reached the app


def test_headers_under_the_limit_are_served(server: Server) -> None:
    pad = {f"X-Pad-{i}": "y" * 1000 for i in range(20)}  # 20 KB of headers
    response = httpx.get(server.url + GOOD_QUERY, headers={**auth_headers(), **pad}, timeout=30)
    assert response.status_code == 200
