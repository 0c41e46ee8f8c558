"""The fast path of ``GET /predict``: a plainly valid, authorised query is answered by a
pure ASGI layer before FastAPI's routing, parameter and dependency solving (which cost
several times the rest of the request: see docs/performance.md).

Anything it does not accept as-is -- a bad, odd or duplicated parameter, a missing or wrong
token, a percent-encoded name -- goes down the declared FastAPI endpoint, which owns every
error answer and the OpenAPI contract. The fast path only ever accepts a subset of what that
endpoint accepts, decides auth with the same function (``auth.token_refusal``), and answers
with the same bytes and headers.

Invariant: the fast path either answers 200 or leaves no trace. Everything it does before
``recorder.record()`` (parse, auth, predict, encode) has no side effect, and ``record()``
raising means that nothing was recorded; on any exception up to there the request goes to the
endpoint unchanged, as if the fast path did not exist. Once ``record()`` has returned, the row
exists: the request is answered 200 from here, nothing after it can raise (the predictions
counter is ``Runtime.count_predictions``, which swallows its failures) and the request never
falls through (nor does its log line and metrics sample, ``ObserveMiddleware.observe``,
which never raises). So every 200 is one row, and every row a 200 (tested by fault injection
in tests/api/test_faults.py).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from time import perf_counter
from typing import TYPE_CHECKING, Any

import orjson
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from spendcast.api.auth import token_refusal
from spendcast.api.protocol import RESPOND
from spendcast.model.schema import AGE_MAX, AGE_MIN, EDUCATION_LEVELS, INCOME_MAX, INCOME_MIN
from spendcast.monitoring import Inference

if TYPE_CHECKING:
    from spendcast.api.middleware import ObserveMiddleware
    from spendcast.api.runtime import Runtime

# Each level as a query string may spell it; the value maps straight to the level.
_EDUCATION: dict[bytes, str] = {}
for _level in EDUCATION_LEVELS:
    for _spelling in (_level, _level.replace(" ", "+"), _level.replace(" ", "%20")):
        _EDUCATION[_spelling.encode()] = _level
PREDICT_PATH = "/predict"
_INCOME_CHARS = frozenset(b"0123456789.")
_MAX_DIGITS = 20
_NO_EXTENSIONS: dict[str, Any] = {}
_DECLINED = "spendcast.fast_path_declined"  # in a scope answer_now declined
_HEADS: dict[bytes, bytes] = {}  # model version -> the header lines after content-length


def parse_query(query: bytes) -> tuple[str, int, float] | None:
    """``(education, age, income)`` when the query is plainly valid, else None."""
    education: str | None = None
    age: int | None = None
    income: float | None = None
    for pair in query.split(b"&"):
        name, _, value = pair.partition(b"=")
        if name == b"education":
            if education is not None or (education := _EDUCATION.get(value)) is None:
                return None
        elif name == b"age":
            if age is not None or not value.isdigit() or len(value) > _MAX_DIGITS:
                return None
            age = int(value)
            if not AGE_MIN <= age <= AGE_MAX:
                return None
        elif name == b"income":
            if income is not None or not value or len(value) > _MAX_DIGITS:
                return None
            if value == b"." or value.count(b".") > 1 or not _INCOME_CHARS.issuperset(value):
                return None
            income = float(value)
            if not INCOME_MIN <= income <= INCOME_MAX:
                return None
        elif b"%" in name or b"+" in name:
            return None  # might decode to one of ours: let the endpoint decide
    if education is None or age is None or income is None:
        return None
    return education, age, income


class PredictFastPath:
    """Pure ASGI, in front of everything: answers a plainly valid, authorised ``GET /predict``
    itself; hands every other request to ``observe`` (the ``ObserveMiddleware`` in front of
    FastAPI) unchanged.

    Its answers get the log line and metrics ``observe`` gives the endpoint's (route label:
    the endpoint's route), through ``observe.observe`` once answered, without wrapping
    ``send``. ``answered`` counts the requests it answered (what the differential test
    checks it reaches).
    """

    def __init__(self, observe: ObserveMiddleware, runtime: Runtime, route: BaseRoute) -> None:
        self.app: ASGIApp = observe
        self.observe = observe
        self.runtime = runtime
        self.route = route
        self.template: str = getattr(route, "path", PREDICT_PATH)
        self.answered = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and _is_predict(scope)
            and _DECLINED not in scope
        ):
            start = perf_counter()
            answer = self._take(scope)
            if answer is not None:
                if _respond(scope, answer[0], answer[1]):
                    self.observe.observe(scope, self.template, 200, start)
                else:
                    await self._send(answer, start, scope, receive, send)
                return
        await self.app(scope, receive, send)

    def answer_now(self, scope: Scope) -> bool | ASGIApp | None:
        """The same answer, given while the server parses the request (``api/protocol.py``
        calls it, once the request's head is complete, when it can write an answer at once):
        no ASGI task, no coroutine. True: answered. None: nothing done (the ASGI call need
        not try again). An ASGI app: recorded, but the answer could not be written now; the
        server must run that app instead, which sends it."""
        if scope["method"] != "GET" or not _is_predict(scope):
            return None
        start = perf_counter()
        answer = self._take(scope)
        if answer is None:
            scope[_DECLINED] = True
            return None
        if _respond(scope, answer[0], answer[1]):
            self.observe.observe(scope, self.template, 200, start)
            return True
        return partial(self._send, answer, start)

    def _take(self, scope: Scope) -> tuple[bytes, bytes] | None:
        """Body and version header of the 200 to send, its row recorded; None, having done
        nothing, when the endpoint must answer."""
        try:
            answer = _prepare(self.runtime, scope)
            if answer is None:
                return None
            self.runtime.recorder.record(answer[2])
        except Exception:
            return None  # nothing recorded: the endpoint answers, in the error shape
        # Recorded: answered 200 from here on, whatever fails (module docstring).
        self.runtime.count_predictions(1)
        self.answered += 1
        scope["route"] = self.route
        return answer[0], answer[1]

    async def _send(
        self, answer: tuple[bytes, bytes], start: float, scope: Scope, _: Receive, send: Send
    ) -> None:
        try:
            await _answer(answer[0], answer[1], send)
        finally:
            self.observe.observe(scope, self.template, 200, start)


def _is_predict(scope: Scope) -> bool:
    # The path routing sees: Starlette strips a root_path the server put in front of it.
    path: str = scope["path"]
    return path == PREDICT_PATH or path == scope.get("root_path", "") + PREDICT_PATH


def _prepare(runtime: Runtime, scope: Scope) -> tuple[bytes, bytes, Inference] | None:
    """The body, version header and row of a query the fast path accepts, else None.
    No side effect."""
    query = parse_query(scope["query_string"])
    if query is None:
        return None
    if runtime.token is not None and token_refusal(scope["headers"], runtime.token) is not None:
        return None
    education, age, income = query
    predictor = runtime.predictor
    prediction = predictor.predict_one(education, age, income)
    version = predictor.version
    inference = Inference(education, age, income, prediction, version)
    return orjson.dumps(prediction), version.encode(), inference


def _respond(scope: Scope, body: bytes, version: bytes) -> bool:
    """``_answer`` in one write through the server's ``RESPOND`` extension
    (``api/protocol.py``); False when the server has none or it does not take the answer."""
    extension = scope.get("extensions", _NO_EXTENSIONS).get(RESPOND)
    if extension is None or not version.isalnum():  # 12 hex digits: never a broken line
        return False
    head = _HEADS.get(version)
    if head is None:
        head = _HEADS[version] = (
            b"content-type: application/json\r\nx-model-version: %s\r\n" % version
        )
    respond: Callable[[Scope, bytes, bytes], bool] = extension["respond"]
    return respond(scope, b"content-length: %d\r\n%s" % (len(body), head), body)


async def _answer(body: bytes, version: bytes, send: Send) -> None:
    """The bytes and headers ``with_model_version`` gives the endpoint's answer."""
    headers = [
        (b"content-length", str(len(body)).encode()),
        (b"content-type", b"application/json"),
        (b"x-model-version", version),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
