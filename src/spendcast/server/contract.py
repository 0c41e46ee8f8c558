"""What the app and the server agree on, below the ASGI interface (``server/protocol.py``).

A leaf: the app (``api/``) imports it, and nothing else of ``spendcast.server``; it imports
nothing of spendcast but the settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Scope

from spendcast.settings import Settings

# The ASGI extension every HTTP scope carries: ``{"respond": respond(scope, headers, body)}``.
RESPOND = "spendcast.respond"
# Set by ``spendcast serve``'s supervisor for its workers: the process that runs them.
SUPERVISOR_PID_ENV = "SPENDCAST_SUPERVISOR_PID"
# ``answer_now(scope)``: True answered, None declined (nothing done), or the ASGI app to run.
AnswerNow = Callable[[Scope], "bool | ASGIApp | None"]


@dataclass(frozen=True)
class ServerLimits:
    """What the server refuses before the app sees a request: the app built by
    ``create_app(settings)`` carries them (``server_limits``), and the protocol serving it
    reads them there, so that each app is served with its own settings."""

    max_header_bytes: int
    head_timeout_seconds: float
    max_connections: int | None  # None: from the file-descriptor limit (server/guard.py)

    @classmethod
    def from_settings(cls, settings: Settings) -> ServerLimits:
        return cls(
            settings.max_header_bytes, settings.head_timeout_seconds, settings.max_connections
        )


# For an app that carries none (a benchmark's bare ASGI app): the settings' own defaults.
DEFAULT_LIMITS = ServerLimits.from_settings(Settings.model_construct())
