"""The HTTP protocol ``spendcast serve`` runs: uvicorn's httptools one, except that a request
its parser refuses (a URL over 64 KiB, raw bytes that are not ASCII in the request line, a
broken header) is answered in the one JSON error shape instead of plain text.

Such a request never reaches the app, so it is neither in the API log nor in the metrics.
"""

from __future__ import annotations

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class JsonErrorHttpToolsProtocol(HttpToolsProtocol):
    def send_400_response(self, msg: str) -> None:
        message = f"{msg.rstrip('.')}: malformed request line or headers, or a URL over 64 KiB"
        body = orjson.dumps({"error": {"status": 400, "code": "bad_request", "message": message}})
        head = [b"HTTP/1.1 400 Bad Request\r\n"]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()
