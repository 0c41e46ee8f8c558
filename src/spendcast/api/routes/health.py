"""``/`` ``/health`` (liveness, touches nothing) and ``/ready`` (model loaded, recorder running)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from spendcast.api.deps import RuntimeDep
from spendcast.api.responses import JSONBytes
from spendcast.api.schemas import (
    Liveness,
    Message,
    Readiness,
    RecorderStatus,
    error_responses,
)

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
    responses=error_responses({503: "Model not loaded or recorder stopped."}),
)
async def ready(runtime: RuntimeDep) -> JSONBytes:
    """The model is loaded and the recorder runs: this worker can serve predictions."""
    stats = runtime.recorder_stats()
    if stats is None or not stats.running:
        raise HTTPException(status_code=503, detail="not ready: the recorder is not running")
    return JSONBytes(
        {
            "status": "ready",
            "model_version": runtime.predictor.version,
            "recorder": {field: getattr(stats, field) for field in _RECORDER_FIELDS},
        }
    )
