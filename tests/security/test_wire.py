"""What a hostile or broken client puts on the wire, against the real server on raw sockets:
framing (Host, Transfer-Encoding), URL length, body encodings, garbage after a valid request,
and the fast path's answer byte for byte beside FastAPI's. Every 200 is one row, every row a
200 the client could read."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.security.support import (
    GOOD_QUERY,
    TOKEN,
    assert_error_shape,
    module_server,
    settled_count,
)
from tests.support.server import Server
from tests.support.wire import read_answers, read_to_close

pytestmark = pytest.mark.e2e

BEARER = b"Authorization: Bearer %s\r\n" % TOKEN.encode()
ROW = {"education": "PhD", "age": 42, "income": 50000}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, trained_model_dir: Path) -> Iterator[Server]:
    with module_server(tmp_path_factory.mktemp("wire"), trained_model_dir) as running:
        yield running


def _send(server: Server, data: bytes) -> bytes:
    """``data`` on a fresh connection; everything answered until the server closes (after
    a refusal, or a request with ``Connection: close``)."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as client:
        client.sendall(data)
        return read_to_close(client)


def _answers(data: bytes) -> list[tuple[int, list[tuple[bytes, bytes]], bytes]]:
    """Every answer in ``data``: status, header lines (name lower-cased, in order), body."""
    answers = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        headers = [(n.lower(), v) for n, _, v in (line.partition(b": ") for line in lines[1:])]
        length = int(next(v for n, v in headers if n == b"content-length"))
        answers.append((int(lines[0].split(b" ")[1]), headers, rest[:length]))
        data = rest[length:]
    return answers


def _get(target: bytes, *lines: bytes, version: bytes = b"1.1", host: bool = True) -> bytes:
    host_line = b"Host: x\r\n" if host else b""
    return b"GET %s HTTP/%s\r\n%s%s%s\r\n" % (target, version, host_line, BEARER, b"".join(lines))


def _post(body: bytes, *lines: bytes) -> bytes:
    return b"POST /predict HTTP/1.1\r\nHost: x\r\n%s%sContent-Type: application/json\r\n" % (
        BEARER,
        b"".join(lines),
    ) + b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


CLOSE = b"Connection: close\r\n"


def _refused(answer: bytes, status: int = 400) -> str:
    [(code, headers, body)] = _answers(answer)
    assert code == status, answer[:300]
    error = assert_error_shape(code, dict(headers)[b"content-type"].decode(), body)
    return str(error["message"])


GOOD = GOOD_QUERY.encode()


def test_http11_needs_exactly_one_host(server: Server) -> None:
    before = settled_count(server)
    missing = _send(server, _get(GOOD, host=False))
    twice = _send(server, _get(GOOD, b"Host: y\r\n"))
    old = _answers(_send(server, _get(GOOD, version=b"1.0", host=False)))  # closed after it
    assert "Host" in _refused(missing)
    assert "Host" in _refused(twice)
    assert [status for status, _, _ in old] == [200]  # HTTP/1.0 needs none
    assert settled_count(server) == before + 1


@pytest.mark.parametrize("coding", [b"xchunked", b"chunked, gzip", b"identity"])
def test_a_transfer_encoding_not_ending_in_chunked_is_400_and_nothing_else(
    server: Server, coding: bytes
) -> None:
    before = settled_count(server)
    answer = _send(server, _get(GOOD, b"Transfer-Encoding: %s\r\n" % coding))
    _refused(answer)  # one answer, 400 (ours or the parser's): no 200 before it
    assert settled_count(server) == before


@pytest.mark.parametrize("size", [64 * 1024 + 1, 80 * 1024, 100 * 1024, 1024 * 1024])
def test_a_url_over_64_kib_is_400_not_431(server: Server, size: int) -> None:
    target = GOOD + b"&pad=" + b"a" * (size - len(GOOD) - 5)
    assert len(target) == size
    assert "64 KiB" in _refused(_send(server, _get(target)))


@pytest.mark.parametrize(
    "encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"]
)
def test_a_body_in_utf16_or_utf32_is_400_and_records_nothing(server: Server, encoding: str) -> None:
    before = settled_count(server)
    body = orjson.dumps([ROW]).decode().encode(encoding)  # "utf-16"/"utf-32" add a BOM
    assert "UTF-8" in _refused(_send(server, _post(body, CLOSE)))  # the app's 400: keep-alive
    assert settled_count(server) == before


def test_a_utf8_body_with_a_bom_is_utf8(server: Server) -> None:
    before = settled_count(server)
    [(status, _, _)] = _answers(_send(server, _post(b"\xef\xbb\xbf" + orjson.dumps([ROW]), CLOSE)))
    assert status == 200
    assert settled_count(server) == before + 1


# A valid request, then bytes the parser refuses, in one packet: (request, rows it makes).
VALID_THEN_GARBAGE = {
    "fast-path GET": (_get(GOOD), 1),
    "FastAPI GET": (_get(GOOD.replace(b"age=", b"%61ge=")), 1),
    "POST batch": (_post(orjson.dumps([ROW] * 3)), 3),
    "fast-path GET, forwarded": (_get(GOOD, b"X-Forwarded-For: 10.0.0.7\r\n"), 1),
}


@pytest.mark.parametrize("shape", VALID_THEN_GARBAGE)
def test_a_valid_request_followed_by_garbage_gets_its_200_then_the_400(
    server: Server, shape: str
) -> None:
    request, rows = VALID_THEN_GARBAGE[shape]
    before = settled_count(server)
    answers = _answers(_send(server, request + b"\x00\x01 garbage\r\n\r\n"))
    assert [status for status, _, _ in answers] == [200, 400], answers
    assert len(orjson.loads(answers[0][2]) if rows > 1 else [answers[0][2]]) == rows
    assert settled_count(server) == before + rows
    log = (server.workdir / "serve.log").read_text(errors="replace")
    assert "write_eof" not in log
    assert "Traceback" not in log


def test_the_fast_path_and_fastapi_send_the_same_header_lines_in_the_same_order(
    server: Server,
) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as client:
        client.sendall(_get(GOOD) + _get(GOOD.replace(b"age=", b"%61ge=")))  # 2nd: FastAPI
        (fast_head, fast_body), (slow_head, slow_body) = read_answers(client, 2)
    # The date may turn between the two; every other byte is the same.
    fast, slow = (
        [line for line in head.split(b"\r\n") if not line.startswith(b"date: ")]
        for head in (fast_head, slow_head)
    )
    assert fast == slow
    assert fast_body == slow_body
    assert [line.split(b":")[0] for line in fast[1:]] == [
        b"server",
        b"x-model-version",
        b"content-length",
        b"content-type",
    ]
