"""The app factory: assembles routers, middleware and error handlers; builds nothing at import.

``uvicorn --factory spendcast.api.app:create_app`` (what ``spendcast serve`` runs) makes every
worker build its own app, load the model once and start its own recorder.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from spendcast.api.body_limit import BodyLimitMiddleware, max_body_bytes
from spendcast.api.docs import install_docs
from spendcast.api.errors import install_error_handlers
from spendcast.api.middleware import ObserveMiddleware
from spendcast.api.routes import health, metrics, predict, train
from spendcast.api.runtime import Runtime
from spendcast.settings import Settings


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    runtime: Runtime = app.state.runtime
    await runtime.start()
    try:
        yield
    finally:
        await runtime.stop()


def create_app(settings: Settings | None = None) -> FastAPI:
    """A new app serving with ``settings`` (read from ``SPENDCAST_*`` when omitted)."""
    runtime = Runtime(settings or Settings())
    app = FastAPI(
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
    app.add_middleware(BodyLimitMiddleware, max_bytes=limit)  # inside: its 413s are logged
    app.add_middleware(ObserveMiddleware, access_log=runtime.access_log, metrics=runtime.metrics)
    return app


def _package_version() -> str:
    from importlib.metadata import version

    return version("spendcast")
