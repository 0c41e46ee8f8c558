"""Dependency aliases the routes declare; tests override ``get_runtime`` if they need to."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from spendcast.api.runtime import Runtime
from spendcast.model.predictor import Predictor
from spendcast.monitoring import Recorder
from spendcast.settings import Settings


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_settings(runtime: RuntimeDep) -> Settings:
    return runtime.settings


async def get_predictor(runtime: RuntimeDep) -> Predictor:
    return runtime.predictor


async def get_recorder(runtime: RuntimeDep) -> Recorder:
    return runtime.recorder


SettingsDep = Annotated[Settings, Depends(get_settings)]
PredictorDep = Annotated[Predictor, Depends(get_predictor)]
RecorderDep = Annotated[Recorder, Depends(get_recorder)]
