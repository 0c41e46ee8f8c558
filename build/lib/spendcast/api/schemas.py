"""Bodies the API reads and writes (besides bare numbers), documented in OpenAPI."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field

from spendcast.model.schema import AGE_MAX, AGE_MIN, INCOME_MAX, INCOME_MIN, Education


def _whole_number(value: object) -> object:
    # JSON Schema counts 42.0 as an integer: accept it; strict validation then refuses the rest.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Strict: in a JSON row, false, "42" or 42.5 is not an age, and true or "1e3" not an income.
Age = Annotated[
    int,
    Field(ge=AGE_MIN, le=AGE_MAX, strict=True, description="Age in whole years."),
    BeforeValidator(_whole_number),
]
Income = Annotated[
    float,
    Field(
        ge=INCOME_MIN,
        le=INCOME_MAX,
        allow_inf_nan=False,
        strict=True,
        description="Yearly income.",
    ),
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
    journal_ok: bool
    buffer_full: bool
    journal_errors: int
    unjournaled: int


class ModelStoreStatus(BaseModel):
    reachable: bool = Field(description="The last read of the model store succeeded.")
    current: str | None = Field(description="The store's current version, as last read.")
    problem: str | None = Field(
        description="Why the current version is not the one served (it does not load); "
        "the worker keeps serving model_version and tries again."
    )


class Readiness(BaseModel):
    status: str = Field(description='"ready", or "not ready" (with a 503).')
    reasons: list[str] = Field(
        description="Why this worker's recorder cannot keep its promise: any of "
        '"recorder stopped", "database unreachable", "journal degraded", "buffer full".'
    )
    model_version: str
    model_store: ModelStoreStatus
    recorder: RecorderStatus


class TrainResult(BaseModel):
    version: str
    metrics: dict[str, float]


class ErrorDetail(BaseModel):
    field: str
    message: str


class ErrorInfo(BaseModel):
    status: int
    code: str
    message: str
    details: list[ErrorDetail] = Field(
        default_factory=list, description="Validation errors only: one per bad field."
    )


class ErrorBody(BaseModel):
    """The one shape of every 4xx/5xx answer."""

    error: ErrorInfo


class NotReady(ErrorBody, Readiness):
    """``/ready`` answering 503: the one error shape, beside the readiness it reports."""


def error_responses(descriptions: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for error statuses, each with the one error body."""
    return {
        status: {"model": ErrorBody, "description": text} for status, text in descriptions.items()
    }
