"""Serve any ASGI app on the server stack of ``spendcast serve``: the floor `/predict` is
measured against.

uvicorn on uvloop with spendcast's httptools protocol (``JSON_ERROR_HTTP``), no access log,
the same backlog and graceful-shutdown timeout; one worker in this process, or N workers
under uvicorn's supervisor, each on its own ``SO_REUSEPORT`` socket, pinned to a CPU of its
own with ``--pin-workers`` (``spendcast.server.workers.run_workers``, as ``spendcast serve``).
The constants, the socket and the pinning come from ``spendcast.server`` itself, so the two cannot
drift apart; only the app (and the log level) differ.

    python -m bench.serve_stack bench.hello_asgi:app --port 8000 --workers 2
"""

from __future__ import annotations

import argparse

import uvicorn

from spendcast.server.config import BACKLOG, GRACEFUL_SHUTDOWN_SECONDS, JSON_ERROR_HTTP
from spendcast.server.workers import run_workers


def config(app: str, host: str, port: int, workers: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http=JSON_ERROR_HTTP,
        ws="none",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        backlog=BACKLOG,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("app", help="ASGI app as module:attribute")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--pin-workers", action="store_true", help="as spendcast serve's")
    args = parser.parse_args(argv)
    run_workers(config(args.app, args.host, args.port, args.workers), pin=args.pin_workers)


if __name__ == "__main__":
    main()
