"""Fault injection: each step of both paths (the ``GET /predict`` fast path, called through
ASGI and as ``spendcast serve``'s protocol calls it, and the FastAPI endpoint for GET and
POST) made to raise, inside the real app; rows counted in its database.

The invariant, whatever fails where: a request answered 200 is exactly one row per prediction,
any other answer leaves none. The app keeps serving once the fault is gone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import SecretStr

import spendcast.api.auth
import spendcast.api.fast_path
from spendcast.api.app import create_app
from spendcast.errors import RecorderError
from spendcast.model.predictor import Predictor
from tests.api.conftest import TOKEN, make_settings
from tests.api.raw import Answer, RawApp, running_app

AUTH = [(b"authorization", b"Bearer " + TOKEN.encode())]
JSON = [*AUTH, (b"content-type", b"application/json")]
ROWS = [
    {"education": "PhD", "age": 42, "income": 50000},
    {"education": "Master", "age": 7, "income": 1},
]
# name -> (method, query, headers, body, predictions in a 200, answered by the fast path)
PATHS: dict[str, tuple[str, bytes, list[tuple[bytes, bytes]], bytes, int, bool]] = {
    "fast GET": ("GET", b"education=PhD&age=42&income=50000", AUTH, b"", 1, True),
    "fast GET, answered now": ("GET", b"education=PhD&age=42&income=50000", AUTH, b"", 1, True),
    "FastAPI GET": ("GET", b"education=PhD&age=%2B42&income=5e4", AUTH, b"", 1, False),
    "FastAPI POST": ("POST", b"", JSON, orjson.dumps(ROWS), 2, False),
}  # fmt: skip


class Boom(Exception):
    pass


def raising(*_args: Any, **_kwargs: Any) -> Any:
    raise Boom("injected")


def once(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function``, except that its first call raises."""
    calls = 0

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise Boom("injected once")
        return function(*args, **kwargs)

    return wrapped


def _recorder_fails_once(app: RawApp, mp: pytest.MonkeyPatch) -> None:
    """The recorder's first call, ``record`` or ``record_many``, raises; later ones work."""
    recorder = app.runtime.recorder
    failed = False

    def fail_first(function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            nonlocal failed
            if not failed:
                failed = True
                raise Boom("injected once")
            return function(*args, **kwargs)

        return wrapped

    mp.setattr(recorder, "record", fail_first(recorder.record))
    mp.setattr(recorder, "record_many", fail_first(recorder.record_many))


def _recorder_error(*_args: Any) -> None:
    raise RecorderError("injected: the row cannot be kept")


# name -> how to inject it into the running app (through monkeypatch, undone after the test)
Inject = Callable[[RawApp, pytest.MonkeyPatch], object]
FAULTS: dict[str, Inject] = {
    "query parser": lambda app, mp: mp.setattr(spendcast.api.fast_path, "parse_query", raising),
    "auth decision": lambda app, mp: (
        mp.setattr(spendcast.api.fast_path, "token_refusal", raising),
        mp.setattr(spendcast.api.auth, "token_refusal", raising),
    ),
    "auth decision, once": lambda app, mp: mp.setattr(
        spendcast.api.fast_path, "token_refusal", once(spendcast.api.auth.token_refusal)
    ),
    # Predictor has slots: its methods are replaced on the class (this app has one predictor).
    "predictor": lambda app, mp: (
        mp.setattr(Predictor, "predict_one", raising),
        mp.setattr(Predictor, "predict_many", raising),
    ),
    "predictor, once": lambda app, mp: (
        mp.setattr(Predictor, "predict_one", once(Predictor.predict_one)),
        mp.setattr(Predictor, "predict_many", once(Predictor.predict_many)),
    ),
    "recorder refuses": lambda app, mp: (
        mp.setattr(app.runtime.recorder, "record", _recorder_error),
        mp.setattr(app.runtime.recorder, "record_many", _recorder_error),
    ),
    "recorder raises": lambda app, mp: (
        mp.setattr(app.runtime.recorder, "record", raising),
        mp.setattr(app.runtime.recorder, "record_many", raising),
    ),
    "recorder raises once": lambda app, mp: _recorder_fails_once(app, mp),
    "predictions counter": lambda app, mp: mp.setattr(
        app.runtime.metrics.predictions, "inc", raising
    ),
    "access log enqueue": lambda app, mp: mp.setattr(app.runtime.access_log, "write", raising),
    "request metrics": lambda app, mp: mp.setattr(app.runtime.metrics, "observe_request", raising),
}
# Faults after which the request is still answered 200 (the others: an error). A fault before
# record() in the fast path sends the request to the endpoint, which answers if the fault is
# gone by then (once) or does not touch that step (the query parser, the fast path's own).
AFTER_RECORD = {"predictions counter", "access log enqueue", "request metrics"}
FAST_PATH_RETRIED = {
    "query parser",
    "auth decision, once",
    "predictor, once",
    "recorder raises once",
}
NOT_ON_THE_PATH = {"query parser", "auth decision, once"}  # the endpoint never calls these


def answered_200(fault: str, path: str) -> bool:
    if fault in AFTER_RECORD:
        return True
    if PATHS[path][5]:
        return fault in FAST_PATH_RETRIED
    return fault in NOT_ON_THE_PATH


@pytest.fixture
def app(workdir: Path) -> Iterator[RawApp]:
    settings = make_settings(workdir, api_token=SecretStr(TOKEN), recorder_flush_seconds=0.01)
    with running_app(create_app(settings)) as running:
        yield running


def _send(app: RawApp, path: str) -> Answer:
    """The request of ``path``; "answered now": as ``spendcast serve``'s protocol calls the
    app (``RawApp.call``'s ``answer_now``)."""
    method, query, headers, body, _, _ = PATHS[path]
    return app.call(method, "/predict", query, headers, body, answer_now=path.endswith(" now"))


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_fault_anywhere_leaves_one_row_per_200_and_none_otherwise(
    app: RawApp, monkeypatch: pytest.MonkeyPatch, fault: str, path: str
) -> None:
    predictions, fast = PATHS[path][4], PATHS[path][5]
    assert app.rows() == 0
    assert _send(app, path).status == 200  # the path works before the fault
    assert app.rows() == predictions

    answered = app.app.fast_path.answered if app.app.fast_path else 0
    with monkeypatch.context() as patch:
        FAULTS[fault](app, patch)
        answer = _send(app, path)
        rows = app.rows() - predictions
    if answered_200(fault, path):
        assert answer.status == 200, (fault, path, answer)
        assert rows == predictions, (fault, path, answer)
        assert orjson.loads(answer.body)  # a real prediction, not an error body
    else:
        assert answer.status == (503 if fault == "recorder refuses" else 500), answer
        assert rows == 0, (fault, path, answer)
        assert set(orjson.loads(answer.body)) == {"error"}  # the one error shape
    if fast and fault in AFTER_RECORD:
        # Failed after record(): still the fast path's answer, never a fall-through.
        assert app.app.fast_path is not None
        assert app.app.fast_path.answered == answered + 1

    after = _send(app, path)  # the fault is gone: served again, one more row
    assert after.status == 200
    assert app.rows() == 2 * predictions + (predictions if answer.status == 200 else 0)
