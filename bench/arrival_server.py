"""A bare HTTP/1.1 server that notes when each request reached the machine: the evenness
benchmark's instrument (``bench/arrivals.py``).

    python -m bench.arrival_server PORT

One thread, ``selectors`` on non-blocking sockets, keep-alive. Every GET is answered ``200 ok``
at once, and its arrival time is the kernel's receive timestamp of the bytes that completed it
(``SO_TIMESTAMPNS``, read with ``recvmsg``: when the packet was received, not when this process
got round to it), or ``time.time()`` where the kernel gives none. ``GET /arrivals`` answers the
times noted since the last such call (a JSON list of epoch seconds) and forgets them; it is not
noted itself. ``GET /health`` answers too (the readiness probe), and is noted like any other.
"""

from __future__ import annotations

import json
import selectors
import socket
import struct
import sys
import time
from typing import Final

ARRIVALS_PATH: Final = "/arrivals"
_SO_TIMESTAMPNS: Final = getattr(socket, "SO_TIMESTAMPNS", 35)
_ANCILLARY: Final = socket.CMSG_SPACE(16)  # struct timespec: two longs
_OK: Final = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


def _answer(body: bytes) -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nContent-Type: application/json"
    return head.encode() + b"\r\n\r\n" + body


class ArrivalServer:
    """Answers every GET, noting when it arrived."""

    def __init__(self, port: int) -> None:
        self.arrivals: list[float] = []
        self._selector = selectors.DefaultSelector()
        self._listener = socket.create_server(("127.0.0.1", port), backlog=1024)
        self._listener.setblocking(False)
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._pending: dict[socket.socket, bytes] = {}

    def serve_forever(self) -> None:
        while True:
            for key, _ in self._selector.select():
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self._listener:
                    self._accept()
                else:
                    self._read(sock)

    def _accept(self) -> None:
        try:
            connection, _ = self._listener.accept()
        except BlockingIOError:
            return
        connection.setblocking(False)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
        self._pending[connection] = b""
        self._selector.register(connection, selectors.EVENT_READ)

    def _read(self, connection: socket.socket) -> None:
        try:
            data, ancillary, _, _ = connection.recvmsg(65536, _ANCILLARY)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data, ancillary = b"", []
        if not data:
            self._selector.unregister(connection)
            del self._pending[connection]
            connection.close()
            return
        at = time.time()
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(value) >= 16:
                seconds, nanoseconds = struct.unpack("qq", value[:16])
                at = seconds + nanoseconds / 1e9
        buffer = self._pending[connection] + data
        replies = []
        while (end := buffer.find(b"\r\n\r\n")) >= 0:
            request, buffer = buffer[:end], buffer[end + 4 :]
            path = request.split(b" ", 2)[1].decode(errors="replace") if b" " in request else ""
            if path == ARRIVALS_PATH:
                replies.append(_answer(json.dumps(self.arrivals).encode()))
                self.arrivals = []
            else:
                self.arrivals.append(at)
                replies.append(_OK)
        self._pending[connection] = buffer
        if replies:
            connection.setblocking(True)  # small answers: sent at once on loopback
            connection.sendall(b"".join(replies))
            connection.setblocking(False)


if __name__ == "__main__":
    ArrivalServer(int(sys.argv[1])).serve_forever()
