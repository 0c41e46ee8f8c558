"""An ASGI app served by a real uvicorn ``Server`` with spendcast's protocol, in a thread of
this process (as HTTPX's tests do): for wire tests that need a given app or given settings."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from spendcast.server.protocol import JsonErrorHttpToolsProtocol


@contextmanager
def serving(app: Any, **config: Any) -> Iterator[int]:
    """``app`` as ``spendcast serve`` runs it (no uvicorn access log: with it, ``respond``
    declines and ``send`` answers), on a free port, until the block ends; ``config`` adds to
    or overrides the ``uvicorn.Config`` arguments (``lifespan="on"`` for a spendcast app)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    arguments = {
        "http": JsonErrorHttpToolsProtocol,
        "loop": "asyncio",
        "log_level": "critical",
        "lifespan": "off",
        "access_log": False,
        **config,
    }
    server = uvicorn.Server(uvicorn.Config(app, **arguments))
    assert hasattr(server, "started"), (
        "uvicorn removed Server.started: spendcast serve reads it to exit 3 when startup fails"
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "uvicorn did not start"
            time.sleep(0.01)
        yield listener.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listener.close()
