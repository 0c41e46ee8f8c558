"""Bodies the API reads and writes (besides bare numbers), documented in OpenAPI."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from spendcast.model.schema import AGE_MAX, AGE_MIN, INCOME_MAX, INCOME_MIN, Education

Age = Annotated[int, Field(ge=AGE_MIN, le=AGE_MAX, description="Age in whole years.")]
Income = Annotated[
    float,
    Field(ge=INCOME_MIN, le=INCOME_MAX, allow_inf_nan=False, description="Yearly income."),
]


class Customer(BaseModel):
    """One row of ``POST /predict``; unknown keys are ignored, as unknown query parameters are."""

    education: Education
    age: Age
    income: Income


class Message(BaseModel):
    message: str
    docs: str


class Liveness(BaseModel):
    status: str


class RecorderStatus(BaseModel):
    running: bool
    database_ok: bool
    backlog: int
    written: int
    spilled: int
    replayed: int
    failed_batches: int
    rejected: int
    dropped: int


class Readiness(BaseModel):
    status: str
    model_version: str
    recorder: RecorderStatus


class TrainResult(BaseModel):
    version: str
    metrics: dict[str, float]
