"""The uvicorn configuration ``spendcast serve`` runs: uvloop, spendcast's httptools protocol,
no access log (the API log file replaces it), no websockets, a graceful-shutdown timeout.

Building it imports uvicorn; importing this module does not (``spendcast serve`` checks its
settings first, and fast).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import uvicorn

APP_FACTORY = "spendcast.api.app:create_app"
JSON_ERROR_HTTP = "spendcast.server.protocol:JsonErrorHttpToolsProtocol"
GRACEFUL_SHUTDOWN_SECONDS = 30
BACKLOG = 2048
LOG_FORMATTER = "spendcast.api.log_escape.EscapingFormatter"


def uvicorn_config(
    *, host: str, port: int, workers: int, root_path: str, log_level: str
) -> uvicorn.Config:
    """The app factory served by ``workers`` processes on ``host:port`` (``run_workers``)."""
    import uvicorn

    return uvicorn.Config(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        root_path=root_path.rstrip("/"),
        log_level=log_level.lower(),
        log_config=log_config(log_level.upper()),
        access_log=False,  # the API log file replaces uvicorn's access log
        loop="uvloop",
        http=JSON_ERROR_HTTP,  # httptools, answering its parse errors in the error shape
        ws="none",  # no websocket route: keeps websockets out of the workers
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        backlog=BACKLOG,
    )


def log_config(level: str) -> dict[str, object]:
    """uvicorn's logging configuration, escaping request-derived text, with spendcast's logger."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    # Request-derived text (a path in an exception) cannot forge a line of the server's log.
    config["formatters"]["default"]["()"] = LOG_FORMATTER
    config["loggers"]["spendcast"] = {"handlers": ["default"], "level": level, "propagate": False}
    return config
