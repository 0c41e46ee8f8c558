"""Run N uvicorn workers, each on its OWN ``SO_REUSEPORT`` socket, so the kernel spreads
connections between them (``uvicorn --workers`` shares one socket, and one worker can accept
nearly every connection of a client that connects all at once).

    python -m bench.reuseport bench.hello_asgi:app --port 8000 --workers 2
"""

from __future__ import annotations

import argparse
import multiprocessing
import signal
import socket
from types import FrameType


def reuseport_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound with SO_REUSEPORT (listen() is left to the server)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def serve_one(app: str, host: str, port: int, loop: str, http: str, factory: bool) -> None:
    """One worker: its own socket, its own event loop."""
    import uvicorn

    config = uvicorn.Config(
        app,
        loop=loop,
        http=http,
        factory=factory,
        log_level="warning",
        access_log=False,
        backlog=2048,
    )
    uvicorn.Server(config).run(sockets=[reuseport_socket(host, port)])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("app", help="ASGI app as module:attribute")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--loop", default="uvloop")
    parser.add_argument("--http", default="httptools")
    parser.add_argument("--factory", action="store_true", help="app is a factory to call")
    args = parser.parse_args(argv)

    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(
            target=serve_one,
            args=(args.app, args.host, args.port, args.loop, args.http, args.factory),
        )
        for _ in range(args.workers)
    ]

    def stop(signum: int, frame: FrameType | None) -> None:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


if __name__ == "__main__":
    main()
