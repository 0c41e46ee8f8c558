"""One JSON error shape for every 4xx/5xx answer, mapped once here for the whole app::

    {"error": {"status": 422, "code": "validation_error", "message": "age: ...",
               "details": [{"field": "age", "message": "Input should be ..."}]}}

``details`` is present only for validation errors. A 500 never carries internals. A prediction
whose row the inference log cannot keep is a 503 with ``Retry-After`` (backpressure, never a 200
for a row that would be lost).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from spendcast.errors import (
    InferenceNotKept,
    InputError,
    ModelNotFoundError,
    RecorderError,
    SpendcastError,
)

logger = logging.getLogger(__name__)

CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    431: "request_header_fields_too_large",
    500: "internal_error",
    503: "unavailable",
}
RETRY_AFTER_SECONDS = 1  # a load balancer polling /ready has moved traffic away by then


def error_body(
    status: int, message: str, *, details: Sequence[Mapping[str, str]] | None = None
) -> dict[str, Any]:
    """The one error body: ``{"error": {"status", "code", "message"[, "details"]}}``."""
    code = CODES.get(status) or HTTPStatus(status).phrase.lower().replace(" ", "_")
    error: dict[str, Any] = {"status": status, "code": code, "message": message}
    if details is not None:
        error["details"] = list(details)
    return {"error": error}


def error_response(
    status: int,
    message: str,
    *,
    details: Sequence[Mapping[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The one error body, as a response."""
    return Response(
        orjson.dumps(error_body(status, message, details=details)),
        status_code=status,
        headers=dict(headers) if headers else None,
        media_type="application/json",
    )


def _field(loc: Sequence[int | str]) -> str:
    # ("query", "age") -> "age"; ("body", 0, "age") -> "0.age"; ("body",) -> "body"
    inner = [str(part) for part in loc[1:]]
    return ".".join(inner) if inner else str(loc[0]) if loc else "request"


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    details = []
    for error in exc.errors():
        if error.get("type") == "json_invalid":
            reason = error.get("ctx", {}).get("error", "")
            details.append({"field": "body", "message": f"invalid JSON: {reason}".strip()})
        else:
            details.append({"field": _field(error.get("loc", ())), "message": str(error["msg"])})
    message = "; ".join(f"{d['field']}: {d['message']}" for d in details[:3])
    if len(details) > 3:
        message += f"; and {len(details) - 3} more"
    return error_response(422, message or "invalid request", details=details)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return error_response(exc.status_code, message, headers=exc.headers)


async def _domain_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, InputError):
        return error_response(exc.status_code, str(exc))
    if isinstance(exc, ModelNotFoundError):
        return error_response(503, "no trained model: run `spendcast train`")
    if isinstance(exc, InferenceNotKept):
        return error_response(
            503,
            f"the prediction could not be recorded, retry later: {exc}",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, RecorderError):
        return error_response(503, "the inference log is unavailable")
    logger.exception("unhandled domain error", exc_info=exc)
    return error_response(500, "internal error")


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    # Starlette logs the traceback when it re-raises; the client learns nothing internal.
    return error_response(500, "internal error")


def install_error_handlers(app: FastAPI) -> None:
    """Map every error the app can raise to the one JSON shape."""
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(SpendcastError, _domain_error)
    app.add_exception_handler(Exception, _unexpected_error)
