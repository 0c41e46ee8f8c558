"""The app factory: assembles routers, middleware and error handlers; builds nothing at import.

``uvicorn --factory spendcast.api.app:create_app`` (what ``spendcast serve`` runs) makes every
worker build its own app, load the model once and start its own recorder.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from spendcast.api.body_limit import BodyLimitMiddleware, max_body_bytes
from spendcast.api.docs import install_docs
from spendcast.api.errors import install_error_handlers
from spendcast.api.fast_path import PREDICT_PATH, PredictFastPath
from spendcast.api.metrics import RouteLabels
from spendcast.api.middleware import ObserveMiddleware
from spendcast.api.protocol import AnswerNow
from spendcast.api.routes import health, metrics, predict, train
from spendcast.api.runtime import Runtime
from spendcast.settings import Settings


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    runtime: Runtime = app.state.runtime
    await runtime.start()
    # Everything alive now lives as long as the worker: keep it out of the collector's full
    # passes, which otherwise scan ~200,000 objects (90-190 ms pauses under load).
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        await runtime.stop()


class SpendcastAPI(FastAPI):
    """FastAPI behind two pure-ASGI layers that every request meets first, before FastAPI's
    own middleware stack: the ``GET /predict`` fast path, then the log line and metrics.

    Outside the stack, the fast path skips FastAPI's per-request layers (error, telemetry
    and body-limit middleware, routing); anything it declines goes through all of them.
    It logs and counts its own answers with the observing layer's ``observe``. Under
    ``spendcast serve`` it answers before any ASGI call, through ``answer_now``.
    """

    front: ASGIApp
    fast_path: PredictFastPath | None
    # The fast path's answer given while the server parses the request (api/protocol.py).
    answer_now: AnswerNow | None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.front(scope, receive, send)

    async def framework(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None, *, fast_path: bool = True) -> SpendcastAPI:
    """A new app serving with ``settings`` (read from ``SPENDCAST_*`` when omitted).

    ``fast_path=False`` leaves the ``GET /predict`` fast path out: FastAPI answers everything,
    the reference the differential tests compare the full app with.
    """
    runtime = Runtime(settings or Settings())
    app = SpendcastAPI(
        title="spendcast",
        summary="Predicts a customer's yearly spending; every inference is recorded.",
        version=_package_version(),
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.runtime = runtime
    for module in (health, predict, train, metrics):
        app.include_router(module.router)
    install_docs(app)
    install_error_handlers(app)
    limit = max_body_bytes(runtime.settings.batch_limit)
    app.add_middleware(BodyLimitMiddleware, max_bytes=limit)
    observe = ObserveMiddleware(
        app.framework, runtime.access_log, runtime.metrics, RouteLabels(app.routes)
    )
    app.front = observe
    app.fast_path = app.answer_now = None
    if fast_path:
        route = _route(predict.router, "GET", PREDICT_PATH)
        app.front = app.fast_path = PredictFastPath(observe, runtime, route)
        app.answer_now = app.fast_path.answer_now
    return app


def _route(router: APIRouter, method: str, path: str) -> APIRoute:
    return next(
        route
        for route in router.routes
        if isinstance(route, APIRoute) and route.path == path and method in (route.methods or ())
    )


def _package_version() -> str:
    from importlib.metadata import version

    return version("spendcast")
