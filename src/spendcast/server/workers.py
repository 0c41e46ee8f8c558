"""The worker processes of ``spendcast serve``: each one's own listening socket, and, with
``--pin-workers``, its own CPU.

With one shared socket, the worker that wakes first accepts every pending connection: against
a client that connects all at once (wrk), one worker often serves everything while the other
idles. So the supervisor only binds the address (``SO_REUSEPORT``, never listening there) and
each worker opens a socket of its own on it; the kernel spreads connections over them.

Pinning keeps a worker, every thread of it, on one CPU. A worker's event loop and its writer
threads (the recorder's, the access log's) hand the GIL to each other on every batch; on two
cores they do it across cores, each hand-off a cross-core wake-up, and the scheduler moves
them around. Measured on 2 cores with wrk beside (docs/performance.md): 2 workers pinned serve
more than unpinned, with less idle CPU. It is off by default: on a machine shared with other
busy programs, a pinned worker cannot move away from a busy core.
"""

from __future__ import annotations

import logging
import os
import socket
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from spendcast.errors import ListenError
from spendcast.server.contract import SUPERVISOR_PID_ENV

if TYPE_CHECKING:
    import uvicorn

PROC = Path("/proc")
S = TypeVar("S", bound=socket.socket)


class WorkerSocket(socket.socket):
    """The server's address, bound in the supervisor with ``SO_REUSEPORT`` and never listened
    on there. uvicorn hands it to each worker it starts (or restarts); pickled to a worker, it
    becomes a new socket of that worker's own on the same address, the worker pinned to a
    CPU first when ``pin`` is set.

    Each pickling is one worker's start (uvicorn's spawn pickles a process's arguments once,
    in ``start()``), and its count is that worker's slot: the CPU it prefers.
    """

    pin = False
    started = 0

    def __reduce__(self) -> tuple[object, tuple[int, str, int, int | None]]:
        host, port = self.getsockname()[:2]
        slot = None
        if self.pin:
            slot = self.started
            self.started += 1
        return worker_socket, (self.family, host, port, slot)


def bind_reuseport(sock: S, host: str, port: int) -> S:
    """``sock`` bound to the address with ``SO_REUSEPORT``, beside the other workers'."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def worker_socket(family: int, host: str, port: int, slot: int | None) -> socket.socket:
    """A worker's own socket on the address (run in the worker, as it unpickles its
    arguments: before it starts any thread, which then inherit its CPU)."""
    if slot is not None:
        pin_to_cpu(slot)
    return bind_reuseport(socket.socket(family, socket.SOCK_STREAM), host, port)


def listening_socket(host: str, port: int, *, pin: bool = False) -> WorkerSocket:
    """The address every worker will listen on (port 0: one the kernel picks, for all)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = WorkerSocket(family, socket.SOCK_STREAM)
    try:
        bind_reuseport(sock, host, port)
    except OSError as error:
        sock.close()
        raise ListenError(f"cannot listen on {host}:{port}: {error}") from None
    sock.pin = pin
    bound = sock.getsockname()[1]
    address = f"[{host}]" if family == socket.AF_INET6 else host
    logging.getLogger("uvicorn.error").info(
        "Uvicorn running on http://%s:%d (Press CTRL+C to quit)", address, bound
    )
    return sock


def run_workers(config: uvicorn.Config, *, pin: bool = False) -> uvicorn.Server | None:
    """Serve ``config`` until stopped: one worker in this process (pinned to the first allowed
    CPU when ``pin``), or uvicorn's supervisor (restarts, signals) with each worker on its own
    socket (``listening_socket``), each pinned to a CPU of its own when ``pin``. Returns the
    in-process server (it says whether it started), ``None`` under the supervisor."""
    import uvicorn  # not at import: ``spendcast serve`` checks its settings first, and fast

    if config.workers == 1:
        if pin:
            pin_to_cpu(0)
        server = uvicorn.Server(config)
        server.run()
        return server
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    class Supervisor(Multiprocess):
        """uvicorn's supervisor, remembering whether a signal asked it to stop: it also stops
        (and returned, as if asked) when a worker it restarts cannot start."""

        asked = False

        def handle_int(self) -> None:
            self.asked = True
            super().handle_int()

        def handle_term(self) -> None:
            self.asked = True
            super().handle_term()

    os.environ[SUPERVISOR_PID_ENV] = str(os.getpid())  # the workers' process_* metrics count it
    supervisor = Supervisor(config, sockets=[listening_socket(config.host, config.port, pin=pin)])
    supervisor.run()
    if not supervisor.asked:  # a worker failed to start: not a stop anybody asked for
        logging.getLogger("uvicorn.error").error("a worker could not start: the server stops")
        raise SystemExit(STARTUP_FAILURE)
    return None


def pin_to_cpu(slot: int) -> int:
    """Pin this process to one of the CPUs it may run on, and return it: the least used by
    the pinned siblings (the supervisor's other workers), the slot's own CPU among equals.

    Workers started together each take their slot's CPU; a worker replaced after a crash
    takes the one its predecessor left."""
    allowed = sorted(os.sched_getaffinity(0))
    taken = Counter(_pinned_siblings())
    preferred = allowed[slot % len(allowed)]
    cpu = min(allowed, key=lambda c: (taken[c], c != preferred, c))
    os.sched_setaffinity(0, {cpu})
    return cpu


def can_pin() -> bool:
    """Whether this system can pin processes (Linux's ``sched_setaffinity`` and ``/proc``)."""
    return hasattr(os, "sched_setaffinity") and PROC.is_dir()


def _pinned_siblings() -> list[int]:
    """The CPU of each other child of this process's parent that is pinned to one CPU."""
    parent, me = os.getppid(), os.getpid()
    cpus = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            # Field 4 of stat is the parent; the command name before it may hold spaces.
            if int((entry / "stat").read_text().rpartition(")")[2].split()[1]) != parent:
                continue
            affinity = os.sched_getaffinity(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile, or not ours to read
        if len(affinity) == 1:
            cpus.append(next(iter(affinity)))
    return cpus
