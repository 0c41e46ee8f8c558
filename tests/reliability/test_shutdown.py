"""SIGTERM under load: the request in flight is answered, the queue is flushed, the server exits 0
within its bound, and the rows are exactly the requests answered 200."""

from __future__ import annotations

import json
import signal
import socket
import time
from pathlib import Path

import pytest

from spendcast.monitoring import count_rows
from tests.reliability.support import Load, recorded_incomes, serve

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

EXIT_BOUND_SECONDS = 30
IN_FLIGHT_INCOMES = [9_000_000.0 + n for n in range(50)]


def _open_request_half_sent(url: str) -> tuple[socket.socket, bytes]:
    """A ``POST /predict`` whose headers and first half of the body are sent; returns the
    socket and the rest of the body. The server has started the request and waits for it."""
    host, port = url.removeprefix("http://").split(":")
    rows = [{"education": "Master", "age": 40, "income": income} for income in IN_FLIGHT_INCOMES]
    body = json.dumps(rows).encode()
    head = (
        f"POST /predict HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    sock = socket.create_connection((host, int(port)), timeout=30)
    half = len(body) // 2
    sock.sendall(head + body[:half])
    return sock, body[half:]


def _read_response(sock: socket.socket) -> tuple[int, bytes]:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    sock.close()
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_under_load_answers_in_flight_flushes_and_exits_0(
    workdir: Path, postgres_url: str, workers: int
) -> None:
    # Rows wait in memory for up to a minute: only the shutdown flush can write them.
    env = {
        "SPENDCAST_DATABASE_URL": postgres_url,
        "SPENDCAST_RECORDER_FLUSH_SECONDS": "60",
        "SPENDCAST_RECORDER_BATCH_SIZE": "1000000",
    }
    with serve(workdir, workers=workers, env=env) as server, Load(server.url) as load:
        load.wait_for(300)
        sock, rest = _open_request_half_sent(server.url)
        time.sleep(0.3)  # the server has read the headers: the request is in flight
        assert count_rows(postgres_url) < len(load.ok)  # answered rows still queued

        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        sock.sendall(rest)
        status, body = _read_response(sock)
        exit_code = server.process.wait(timeout=EXIT_BOUND_SECONDS)
        load.stop()

    assert status == 200, body
    assert len(json.loads(body)) == len(IN_FLIGHT_INCOMES)
    assert exit_code == 0
    assert recorded_incomes(postgres_url) == sorted(load.ok + IN_FLIGHT_INCOMES)
    assert list((workdir / "journal").iterdir()) == []
