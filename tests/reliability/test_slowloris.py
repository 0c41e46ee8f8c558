"""Slowloris under a real fd limit: the real server, its ``RLIMIT_NOFILE`` lowered with
``prlimit`` to 256, and 250 connections that each send half a head and then nothing.

Without a head deadline and a cap, those connections take every descriptor: other clients
fail for the whole attack, and so do the process's own files (the metrics files, model
polling, journal rotation: EMFILE). With them (``server/guard.py``): over the cap a connection
is answered 503 or closed, a newcomer makes room by closing the slowest, the process keeps
its own files, and every half-sent head gets a 408 once late.
"""

from __future__ import annotations

import resource
import socket
import time
from pathlib import Path

import psutil
import pytest

from spendcast.server.guard import EVICT_AFTER
from tests.reliability.support import serve
from tests.support.wire import read_answers, read_to_close

pytestmark = pytest.mark.e2e

LIMIT = 256  # the cap is then 128 connections, 503s up to 192, closed unanswered beyond
ATTACKERS = 250
HALF_HEAD = b"GET /predict?education=PhD&age=42 HTTP/1.1\r\nHost: x\r\n"
REQUEST = b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n"


def _read(attacker: socket.socket) -> bytes:
    """What the server sent before it closed; a connection closed with its half head unread
    is reset (what the server does to make room)."""
    try:
        return read_to_close(attacker)
    except ConnectionResetError:
        return b""


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer else 0


def test_slow_heads_never_take_the_fds_of_other_clients_or_of_the_server(workdir: Path) -> None:
    with serve(workdir, env={"SPENDCAST_HEAD_TIMEOUT_SECONDS": "4"}) as server:
        pid = server.process.pid
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (LIMIT, LIMIT))
        host, port = server.url.removeprefix("http://").split(":")
        address = (host, int(port))
        attackers = []
        try:
            for _ in range(ATTACKERS):
                attacker = socket.create_connection(address, timeout=20)
                attacker.sendall(HALF_HEAD)
                attackers.append(attacker)
            time.sleep(EVICT_AFTER + 0.5)  # the held ones are now old enough to make room
            served = []
            for target in (b"/predict?education=PhD&age=42&income=50000", b"/metrics") * 3:
                with socket.create_connection(address, timeout=20) as client:
                    client.sendall(REQUEST % target)
                    served.append(_status(read_answers(client, 1)[0][0]))
            fds = psutil.Process(pid).num_fds()
            # Each attacker now reads what it got: a 503 or a close at once over the cap, a
            # close when a newcomer took its place, or a 408 once its head was late.
            answers = [_read(attacker) for attacker in attackers]
        finally:
            for attacker in attackers:
                attacker.close()
        log = (workdir / "serve.log").read_text(errors="replace")
    assert served == [200] * 6  # predictions, and /metrics reading its files
    assert fds < LIMIT - 32
    statuses = [_status(answer) for answer in answers]
    assert statuses.count(503) > 0, statuses
    assert statuses.count(408) > 0, statuses
    assert set(statuses) <= {0, 408, 503}
    assert next(a for a in answers if _status(a) == 503).count(b"retry-after: 1\r\n") == 1
    assert "Too many open files" not in log
    assert "SPENDCAST_API_TOKEN is not set" in log  # a server without a token says so
