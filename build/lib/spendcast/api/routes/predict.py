"""``GET /predict`` (the lab's contract) and ``POST /predict`` (a batch).

The hot path: validated query -> the predictor held in memory -> the answer built -> a
non-blocking enqueue to the recorder (the last step that may fail: a row exists only for a
request answered 200) -> a bare JSON number. No pandas, no I/O. Plainly valid GET queries
are answered by ``PredictFastPath`` before FastAPI (``api/fast_path.py``); this endpoint
answers the rest and defines the contract.

Unknown query parameters (and unknown keys in batch rows) are ignored, as HTTP caches and
cache-busters expect; missing ones are a 422. When the recorder cannot keep the rows
(``InferenceNotKept``: nothing recorded, a batch all or none) the answer is 503 with
``Retry-After`` and the rows are counted in ``spendcast_predictions_refused_total``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from spendcast.api.auth import DOCUMENTED, TokenRoute
from spendcast.api.deps import PredictorDep, RecorderDep, RuntimeDep, SettingsDep
from spendcast.api.responses import MODEL_VERSION_HEADER, with_model_version
from spendcast.api.runtime import Runtime
from spendcast.api.schemas import Customer, error_responses
from spendcast.errors import BatchTooLargeError, InferenceNotKept
from spendcast.model.schema import AGE_MAX, AGE_MIN, INCOME_MAX, INCOME_MIN, Education
from spendcast.monitoring import Inference, Recorder

router = APIRouter(tags=["predict"], route_class=TokenRoute, dependencies=DOCUMENTED)

_VERSION_HEADER = {
    MODEL_VERSION_HEADER: {
        "description": "The model version that answered.",
        "schema": {"type": "string"},
    }
}
_AUTH_ERROR = {401: "Missing or wrong token."}
_NOT_KEPT = {503: "The inference log cannot keep the row now: retry after Retry-After seconds."}


def _record(recorder: Recorder, runtime: Runtime, inferences: list[Inference]) -> None:
    """The last fallible step of both endpoints: once the rows are kept the answer is 200 (the
    counters never raise); ``InferenceNotKept`` means nothing was kept (a 503)."""
    try:
        recorder.record_many(inferences)
    except InferenceNotKept:
        runtime.count_refused(len(inferences))
        raise
    runtime.count_predictions(len(inferences))


async def predict_one(
    education: Annotated[Education, Query(description="Highest diploma.")],
    age: Annotated[int, Query(ge=AGE_MIN, le=AGE_MAX, description="Age in whole years.")],
    income: Annotated[
        float,
        Query(ge=INCOME_MIN, le=INCOME_MAX, allow_inf_nan=False, description="Yearly income."),
    ],
    predictor: PredictorDep,
    recorder: RecorderDep,
    runtime: RuntimeDep,
) -> Response:
    """Predicted yearly spending of one customer, as a bare JSON number."""
    prediction = predictor.predict_one(education, age, income)
    version = predictor.version
    response = with_model_version(prediction, version)
    _record(recorder, runtime, [Inference(education, age, income, prediction, version)])
    return response


router.add_api_route(
    "/predict",
    predict_one,
    methods=["GET"],
    response_model=float,
    responses={
        200: {"headers": _VERSION_HEADER},
        **error_responses(
            {**_AUTH_ERROR, 422: "A missing or invalid query parameter.", **_NOT_KEPT}
        ),
    },
)


async def _json_batch(request: Request, settings: SettingsDep) -> None:
    """415 unless the body is JSON; 413 over the batch limit, before rows are validated."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise HTTPException(
            status_code=415, detail="send a JSON body (Content-Type: application/json)"
        )
    if not await request.body():
        return  # FastAPI answers 422: the body is required
    body = await request.json()  # already parsed (and cached) by FastAPI
    if isinstance(body, list) and len(body) > settings.batch_limit:
        raise BatchTooLargeError(
            f"{len(body)} rows is more than the limit of {settings.batch_limit} "
            "(SPENDCAST_BATCH_LIMIT)"
        )


@router.post(
    "/predict",
    response_model=list[float],
    dependencies=[Depends(_json_batch)],
    responses={
        200: {"headers": _VERSION_HEADER},
        **error_responses(
            {
                **_AUTH_ERROR,
                400: "A body that cannot be read (not UTF-8, nested too deep).",
                413: "More rows than SPENDCAST_BATCH_LIMIT, or a body over its size limit.",
                415: "The body is not JSON.",
                422: "Invalid JSON, or a row with a missing or invalid field.",
                **_NOT_KEPT,
            }
        ),
    },
)
async def predict_many(
    rows: list[Customer],
    predictor: PredictorDep,
    recorder: RecorderDep,
    runtime: RuntimeDep,
) -> Response:
    """Predicted yearly spending of each customer, in the order given."""
    predictions = predictor.predict_many([(r.education, r.age, r.income) for r in rows])
    version = predictor.version
    response = with_model_version(predictions, version)
    inferences = [
        Inference(r.education, r.age, r.income, p, version)
        for r, p in zip(rows, predictions, strict=True)
    ]
    _record(recorder, runtime, inferences)
    return response
