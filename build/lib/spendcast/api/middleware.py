"""A pure-ASGI middleware that times every call, logs it and counts it.

Pure ASGI (not ``BaseHTTPMiddleware``) so that it adds a few microseconds, not a task per call.
It observes after the app is done: a failure to log or to count is logged as a server error
and never changes the answer (nor costs the other observation).
"""

from __future__ import annotations

import logging
from time import perf_counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spendcast.api.access_log import AccessLog
from spendcast.api.metrics import Metrics, RouteLabels

logger = logging.getLogger(__name__)


class ObserveMiddleware:
    """Writes one access-log line and one metrics sample per HTTP request."""

    def __init__(
        self, app: ASGIApp, access_log: AccessLog, metrics: Metrics, routes: RouteLabels
    ) -> None:
        self.app = app
        self.access_log = access_log
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = perf_counter()
        root_path: str = scope.get("root_path", "")  # before a mount extends it
        status = 500  # what the client gets if the app raises before answering

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            template = self.routes.label(scope.get("route"), scope["path"], root_path)
            self.observe(scope, template, status, start)

    def observe(self, scope: Scope, template: str, status: int, start: float) -> None:
        """Log and count one answered request (``start``: its ``perf_counter``); never raises.
        Also what the ``/predict`` fast path calls, which knows its status without a ``send``
        wrapper."""
        seconds = perf_counter() - start
        method: str = scope["method"]
        client = scope.get("client")
        who = f"{client[0]}:{client[1]}" if client else "-"
        try:
            self.access_log.write(who, method, scope["path"], status, seconds * 1000)
        except Exception:
            logger.exception("could not queue an API log line")
        try:
            self.metrics.observe_request(method, template, status, seconds)
        except Exception:
            logger.exception("could not count a request in the metrics")
