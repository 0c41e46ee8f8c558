"""The Locust side tested in pytest's own process, on Locust's own ``Environment`` and runners.

Importing Locust monkey-patches the process (``gevent.monkey.patch_all``) unless
``LOCUST_SKIP_MONKEY_PATCH`` is set. Patched late, in a pytest-xdist worker whose threads already
run, execnet's channel and every other test of that worker (servers in threads, sqlite, HTTPX)
would run on gevent's patched threading and sockets. So Locust is imported here unpatched: the
kit's code runs on greenlets as in Locust (``gevent.sleep``, events, ``spawn``), only sockets
block, and these tests send at most one request at a time from a greenlet to a server in a real
thread. The variable is removed right after, so the real ``locust`` the end-to-end tests start
in subprocesses is patched as always.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

os.environ["LOCUST_SKIP_MONKEY_PATCH"] = "1"
try:
    import gevent
    import gevent.monkey
    import locust  # noqa: F401  (first imported here, unless a test module did it patched)
finally:
    del os.environ["LOCUST_SKIP_MONKEY_PATCH"]
assert not gevent.monkey.is_module_patched("socket"), "Locust was imported elsewhere, patched"


@dataclass
class CountingServer:
    """Answers 200 to every GET, counting them by path."""

    url: str
    received: Counter[str] = field(default_factory=Counter)


@pytest.fixture
def counting_server() -> Iterator[CountingServer]:
    server_state = CountingServer("")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with lock:
                server_state.received[self.path] += 1
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    server_state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield server_state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture(autouse=True)
def current_loop_time() -> None:
    """gevent's loop caches "now" between its turns, and pytest ran meanwhile: each test starts
    with it current, as a fresh Locust process does (``LocustSide.on_init``)."""
    gevent.get_hub().loop.update_now()
