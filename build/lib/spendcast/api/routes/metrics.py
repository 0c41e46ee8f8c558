"""``GET /metrics``: Prometheus counters of every worker. Open, as scrapers expect; counts only."""

from __future__ import annotations

from fastapi import APIRouter, Response

from spendcast.api.deps import RuntimeDep
from spendcast.api.metrics import CONTENT_TYPE_LATEST

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics(runtime: RuntimeDep) -> Response:
    """Prometheus text format (runs in a thread: it reads every worker's files)."""
    runtime.recorder_stats()
    return Response(runtime.metrics.render(), media_type=CONTENT_TYPE_LATEST)
