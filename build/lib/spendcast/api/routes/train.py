"""``POST /train``: retrain from the dataset and serve the new model (token required)."""

from __future__ import annotations

from fastapi import APIRouter

from spendcast.api.auth import DOCUMENTED, ConfiguredTokenRoute
from spendcast.api.deps import RuntimeDep
from spendcast.api.schemas import TrainResult, error_responses

router = APIRouter(tags=["train"], route_class=ConfiguredTokenRoute, dependencies=DOCUMENTED)


@router.post(
    "/train",
    response_model=TrainResult,
    responses=error_responses(
        {
            401: "Missing or wrong token.",
            403: "No SPENDCAST_API_TOKEN configured: training over HTTP is off.",
        }
    ),
)
async def train(runtime: RuntimeDep) -> TrainResult:
    """Train, save and serve a new model version; other workers follow within seconds."""
    trained = await runtime.retrain()
    return TrainResult(version=trained.version, metrics=dict(trained.metrics))
