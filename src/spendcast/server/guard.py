"""What keeps slow or idle connections from taking a worker's file descriptors: a deadline
for each request head, and a cap on open connections below the process's fd limit.

One guard per server (a worker's event loop), shared by its connections:

- **Head deadline.** A connection has ``head_timeout`` seconds from its opening to complete
  its first request's head, and as much from the first byte of each later head (the idle
  time between requests is uvicorn's keep-alive timeout). One timer per server sweeps the
  connections (at most every second): no timer is set or cancelled per request.
- **Cap.** Over ``cap`` connections, a new one first makes room by closing the connection that
  has waited longest for its head (at least ``EVICT_AFTER`` seconds: a slow client, not one
  that just connected); if none qualifies it is answered 503. Past ``cap`` plus half the
  reserve it is closed unanswered, so connections can never take the fds the process keeps
  for its own files (model polling, the journal, the database, the metrics files).

The cap is the soft ``RLIMIT_NOFILE`` less ``FD_RESERVE``, or ``SPENDCAST_MAX_CONNECTIONS``
when lower.
"""

from __future__ import annotations

import asyncio
import resource
from collections.abc import Collection
from enum import Enum
from typing import Protocol

FD_RESERVE = 128  # descriptors kept for the process's own files (it uses ~40 when serving)
EVICT_AFTER = 1.0  # seconds a connection must have waited for its head to be closed for room
MAX_SWEEP_SECONDS = 1.0


class Admission(Enum):
    ADMIT = "admit"
    REFUSE = "refuse"  # answered 503
    DROP = "drop"  # closed unanswered


class Guarded(Protocol):
    """A connection, as the guard sees it."""

    # When it started waiting for the head now due (None: not waiting for one).
    head_since: float | None

    def head_timed_out(self, evicted: bool) -> None: ...


class ConnectionGuard:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        connections: Collection[object],
        head_timeout: float,
        max_connections: int | None,
    ) -> None:
        self.loop = loop
        self.connections = connections
        self.head_timeout = head_timeout
        self.max_connections = max_connections
        self._sweep_every = min(MAX_SWEEP_SECONDS, head_timeout / 2)
        self._timer: asyncio.TimerHandle | None = None

    def admit(self) -> Admission:
        """Whether the connection just opened (already among ``connections``) may stay."""
        if self._timer is None:
            self._timer = self.loop.call_later(self._sweep_every, self._sweep)
        count = len(self.connections)
        cap, hard_cap = caps(self.max_connections)  # a getrlimit: follows a live ``prlimit``
        if cap is None or count <= cap:
            return Admission.ADMIT
        if self._evict():
            return Admission.ADMIT
        if hard_cap is not None and count > hard_cap:
            return Admission.DROP
        return Admission.REFUSE

    def _evict(self) -> bool:
        oldest: Guarded | None = None
        latest = self.loop.time() - EVICT_AFTER
        for connection in self.connections:
            since = getattr(connection, "head_since", None)
            if since is not None and since <= latest:
                latest = since
                oldest = connection  # type: ignore[assignment]
        if oldest is None:
            return False
        oldest.head_timed_out(evicted=True)
        return True

    def _sweep(self) -> None:
        self._timer = None
        if not self.connections:
            return  # the next connection starts the sweeping again
        due = self.loop.time() - self.head_timeout
        late: list[Guarded] = []
        for connection in self.connections:
            since = getattr(connection, "head_since", None)
            if since is not None and since <= due:
                late.append(connection)  # type: ignore[arg-type]
        for connection in late:  # closing one changes ``connections``
            connection.head_timed_out(evicted=False)
        self._timer = self.loop.call_later(self._sweep_every, self._sweep)


def caps(max_connections: int | None) -> tuple[int | None, int | None]:
    """``(cap, hard_cap)``: the connections served, and those answered 503 beyond them.
    The cap is never above the soft fd limit less ``FD_RESERVE``, whatever is asked."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    room = None if soft == resource.RLIM_INFINITY else max(1, soft - FD_RESERVE)
    cap = max_connections if room is None else min(max_connections or room, room)
    if cap is None:
        return None, None
    return cap, cap + FD_RESERVE // 2
