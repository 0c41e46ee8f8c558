"""``/`` ``/health`` (liveness, touches nothing) and ``/ready`` (this worker can keep its promise).

``/ready`` answers 200 ``{"status": "ready", "reasons": [], ...}`` while every prediction this
worker answers 200 becomes a row, and 503 in the one error shape, with the same fields beside it
and ``reasons`` saying why (``RecorderStats.reasons``), as soon as it cannot: a load balancer
polling it sends traffic elsewhere, and back once the reasons are gone. It reads counters only.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from spendcast.api.deps import RuntimeDep
from spendcast.api.errors import error_body, error_response
from spendcast.api.responses import JSONBytes
from spendcast.api.schemas import Liveness, Message, NotReady, Readiness, RecorderStatus
from spendcast.monitoring.stats import RECORDER_STOPPED

router = APIRouter(tags=["health"])

_ALIVE = {"status": "ok"}
_RECORDER_FIELDS = tuple(RecorderStatus.model_fields)


@router.get("/", response_model=Message, response_class=JSONBytes)
async def root(request: Request) -> JSONBytes:
    """Where to go next."""
    docs = f"{request.scope.get('root_path', '').rstrip('/')}/docs"
    return JSONBytes(
        {"message": f"spendcast prediction API: interactive docs at {docs}", "docs": docs}
    )


@router.get("/health", response_model=Liveness, response_class=JSONBytes)
async def health() -> JSONBytes:
    """The process answers HTTP. Touches neither the model nor the database."""
    return JSONBytes(_ALIVE)


@router.get(
    "/ready",
    response_model=Readiness,
    response_class=JSONBytes,
    responses={
        503: {
            "model": NotReady,
            "description": "The recorder cannot keep its promise now; `reasons` says why.",
        }
    },
)
async def ready(runtime: RuntimeDep) -> Response:
    """The model is loaded and every prediction answered 200 now becomes a row."""
    stats = runtime.recorder_stats()
    if stats is None:
        return error_response(503, f"not ready: {RECORDER_STOPPED}")
    reasons = list(stats.reasons)
    body: dict[str, Any] = {
        "status": "not ready" if reasons else "ready",
        "reasons": reasons,
        "model_version": runtime.predictor.version,
        "model_store": runtime.model_store_status(),
        "recorder": {field: getattr(stats, field) for field in _RECORDER_FIELDS},
    }
    if not reasons:
        return JSONBytes(body)
    error = error_body(503, f"not ready: {', '.join(reasons)}")
    return JSONBytes({**error, **body}, status_code=503)
