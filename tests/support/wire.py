"""Raw HTTP/1.1 on a socket: what a client library would not send, read as it arrives."""

from __future__ import annotations

import socket


def read_to_close(client: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    while chunk := client.recv(65536):
        data += chunk
    return data


def read_answers(client: socket.socket, count: int) -> list[tuple[bytes, bytes]]:
    """``count`` answers (head, body) read off a keep-alive connection."""
    data = b""
    answers: list[tuple[bytes, bytes]] = []
    while len(answers) < count:
        head, found, rest = data.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.startswith(b"content-length")
            ),
            None,
        )
        if found and length is not None and len(rest) >= length:
            answers.append((head, rest[:length]))
            data = rest[length:]
            continue
        chunk = client.recv(65536)
        assert chunk, f"connection closed after {len(answers)} answers"
        data += chunk
    return answers
