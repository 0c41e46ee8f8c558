"""Where a run sends its requests, and with what credentials (``Target``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """The API under load. ``token``/``cookie`` ``None`` keep ``SPENDCAST_API_TOKEN``/
    ``SPENDCAST_COOKIE`` from the environment; secrets never reach the run directory.

    ``pass_host`` False: the user classes' own ``host`` attributes (no ``--host`` for Locust,
    as plain locust); ``check_host`` False: no ``/health`` answer is asked before the run."""

    host: str
    token: str | None = None
    cookie: str | None = None
    pass_host: bool = True
    check_host: bool = True
