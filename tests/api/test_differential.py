"""The full app (with the ``GET /predict`` fast path) against FastAPI alone (``create_app(...,
fast_path=False)``), on generated requests: queries, header sets (duplicate lines, several
cookies, odd schemes, spacing and bytes) and methods. Both must answer the same status, body
and headers, and record the same number of rows: one per row answered 200, none otherwise.

Requests go in as an ASGI server hands them over: header names lower-case (uvicorn lowers
them; tests/security/test_auth.py sends mixed-case names on the wire), values as raw bytes.
Each test counts the examples the fast path answered (``PredictFastPath.answered``) and asserts
a share of them, so that the comparison can never again hold vacuously. The GET comparison
runs twice: the full app called through ASGI, and as ``spendcast serve``'s protocol calls it
(``answer_now`` first).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from spendcast.api.app import create_app
from spendcast.api.fast_path import PredictFastPath
from tests.api.conftest import TOKEN, make_settings
from tests.api.raw import Answer, Headers, RawApp, running_app

T = TOKEN.encode()
BEARER = (b"authorization", b"Bearer " + T)
PLAIN = b"education=PhD&age=42&income=50000"
EXAMPLES = settings(
    max_examples=250,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- queries -------------------------------------------------------------------------------

VALID = {
    b"education": [b"PhD", b"Master", b"Bachelor", b"High+School", b"High%20School"],
    b"age": [b"0", b"42", b"120", b"012", b"7"],
    b"income": [b"0", b"1000", b"50000.5", b".25", b"10000000", b"3."],
}
ODD_VALUES = [
    b"", b"phd", b"PHD", b"Ph%44", b"High School", b"High++School", b"%50hD", b"PhD%00",
    b"+12", b"-1", b"121", b"1e3", b"1E3", b"nan", b"inf", b"-inf", b"Infinity", b"0x10",
    b"1.2.3", b".", b"1_000", b" 12", b"12 ", b"%2012", b"%31%32", b"\xd9\xa1", b"%D9%A1",
    b"10000000.5", b"9" * 30, b"0" * 25 + b"1", b"1,5", b"true", b"null", b"%FF", b"%",
]  # fmt: skip
NAMES = [
    b"education", b"age", b"income", b"Age", b"AGE", b"%61ge", b"a%67e", b"age%00", b"age ",
    b"a+ge", b"other", b"", b"education[]", b"income.", b"%65ducation",
]  # fmt: skip


def _pair(name: bytes, value: bytes | None) -> bytes:
    return name if value is None else name + b"=" + value


def _valid_pair(name: bytes) -> st.SearchStrategy[bytes]:
    return st.sampled_from(VALID[name]).map(lambda value: name + b"=" + value)


valid_pairs = st.tuples(*(_valid_pair(name) for name in VALID))
any_value = st.one_of(
    st.sampled_from([v for values in VALID.values() for v in values]),
    st.sampled_from(ODD_VALUES),
    st.binary(max_size=6),
)
odd_pair = st.builds(_pair, st.sampled_from(NAMES), st.one_of(st.none(), any_value))


@st.composite
def queries(draw: st.DrawFn) -> bytes:
    """Mostly a valid query as clients write it, often with one oddity, sometimes anything."""
    roll = draw(st.integers(0, 99))
    kind = "valid" if roll < 80 else "odd" if roll < 93 else "anything"
    if kind == "anything":
        pairs = draw(st.lists(odd_pair, max_size=5))
    else:
        pairs = list(draw(st.permutations(draw(valid_pairs))))
        if kind == "odd":
            pairs.insert(draw(st.integers(0, len(pairs))), draw(odd_pair))
            if draw(st.booleans()):
                del pairs[draw(st.integers(0, len(pairs) - 1))]
        elif draw(st.booleans()):
            pairs.append(b"cache=" + draw(st.sampled_from([b"1", b"", b"x%20y"])))
    separator = draw(st.sampled_from([b"&", b"&", b"&", b"&&", b";"]))
    return separator.join(pairs)


# -- headers -------------------------------------------------------------------------------

AUTHORIZATIONS = [
    b"Bearer " + T, b"bearer " + T, b"BEARER " + T, b"Bearer  " + T + b" ", b"Bearer\t" + T,
    b"Bearer " + T + b"\t", b"Basic " + T, b"Bearer wrong", b"Bearer", b"Bearer ", T,
    b"Bearer " + T + b"x", b"Bearer " + T[:-1], b"Bearer " + T.upper(), b"Bearer " + T + b"\xe9",
    b"Bearer " + T + "é".encode(), b"Token " + T, b"Bearer " + T + b" extra",
]  # fmt: skip
COOKIES = [
    b"spendcast_token=" + T, b"a=1; spendcast_token=" + T, b"spendcast_token=" + T + b"; b=2",
    b'spendcast_token="' + T + b'"', b"spendcast_token=wrong", b"Spendcast_Token=" + T,
    b"spendcast_token=" + T + b"; spendcast_token=" + T, b"spendcast_token=" + T +
    b"; spendcast_token=other", b" spendcast_token = " + T + b" ", b"spendcast_token=",
    b"spendcast_token=" + T + b"\xe9", b"spendcast_token=" + T + b";", b"x_spendcast_token=" + T,
    b"spendcast_token=" + T + b",other=1", b"spendcast_token", b"=" + T, b"other=1",
]  # fmt: skip
OTHERS: list[tuple[bytes, bytes]] = [
    (b"x-token", T), (b"accept", b"application/json"), (b"x-forwarded-for", b"10.0.0.1"),
    (b"content-type", b"application/json"), (b"authorisation", b"Bearer " + T),
]  # fmt: skip

header_line = st.one_of(
    st.sampled_from(AUTHORIZATIONS).map(lambda v: (b"authorization", v)),
    st.sampled_from(COOKIES).map(lambda v: (b"cookie", v)),
    st.sampled_from(OTHERS),
)


@st.composite
def header_sets(draw: st.DrawFn) -> list[tuple[bytes, bytes]]:
    """Often exactly one good credential (the fast path's case), else any mix of lines."""
    if draw(st.integers(0, 99)) < 80:
        good = draw(st.sampled_from([(b"authorization", b"Bearer " + T), (b"cookie", COOKIES[1])]))
        extra = draw(st.lists(st.sampled_from(OTHERS), max_size=2))
        return [good, *extra]
    return draw(st.lists(header_line, max_size=4))


OTHER_METHODS = ["HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]
methods = st.integers(0, 99).map(lambda i: "GET" if i < 90 else OTHER_METHODS[i % 6])

# -- the two apps ----------------------------------------------------------------------------


@pytest.fixture(params=["token", "no-token"])
def pair(request: pytest.FixtureRequest, workdir: Path) -> Iterator[tuple[RawApp, RawApp]]:
    """The full app and FastAPI alone, each on its own database, log and journal."""
    token = {"api_token": SecretStr(TOKEN)} if request.param == "token" else {}
    made = []
    for name in ("full", "reference"):
        directory = workdir / name
        directory.mkdir()
        made.append(make_settings(directory, recorder_flush_seconds=0.005, **token))
    with (
        running_app(create_app(made[0])) as full,
        running_app(create_app(made[1], fast_path=False)) as reference,
    ):
        assert reference.app.fast_path is None
        yield full, reference


def _fast_path(app: RawApp) -> PredictFastPath:
    assert app.app.fast_path is not None
    return app.app.fast_path


def _same(full: Answer, reference: Answer) -> None:
    assert full.status == reference.status, (full, reference)
    assert full.body == reference.body, (full, reference)
    assert sorted(full.headers) == sorted(reference.headers), (full, reference)


def _rows_per_200(answer: Answer) -> int:
    """Rows a request answered ``answer`` must leave: one per prediction of a 200."""
    if answer.status != 200 or answer.header(b"x-model-version") is None:
        return 0
    document = orjson.loads(answer.body)
    return len(document) if isinstance(document, list) else 1


@pytest.mark.parametrize("answer_now", [False, True], ids=["asgi", "answered now"])
def test_get_predict_answers_alike_with_and_without_the_fast_path(
    pair: tuple[RawApp, RawApp], answer_now: bool
) -> None:
    """``answered now``: the full app called as ``spendcast serve``'s protocol calls it
    (``answer_now`` first, ``RawApp.call``)."""
    full, reference = pair
    fast_path = _fast_path(full)
    tally: Counter[str] = Counter()

    @EXAMPLES
    @given(method=methods, query=queries(), headers=header_sets())
    @example("GET", b"education=PhD&age=%2B12&income=1e3", [BEARER])  # FastAPI's 200
    @example("GET", PLAIN, [(b"cookie", COOKIES[1]), (b"cookie", b"spendcast_token=other")])
    @example("GET", PLAIN, [(b"cookie", b"spendcast_token=other"), (b"cookie", COOKIES[0])])
    @example("GET", PLAIN, [BEARER, BEARER])
    @example("GET", PLAIN, [BEARER, (b"cookie", b"spendcast_token=wrong")])
    @example("GET", PLAIN, [(b"authorization", b"Bearer " + T + "é".encode())])
    def check(method: str, query: bytes, headers: Headers) -> None:
        before = full.rows(), reference.rows(), fast_path.answered
        answers = [
            full.call(method, "/predict", query, headers, answer_now=answer_now),
            reference.call(method, "/predict", query, headers),
        ]
        _same(*answers)
        assert (full.rows() - before[0], reference.rows() - before[1]) == (
            _rows_per_200(answers[0]),
        ) * 2
        tally["examples"] += 1
        tally["fast"] += fast_path.answered - before[2]
        tally[f"status {answers[0].status}"] += 1

    check()
    assert tally["fast"] >= 0.3 * tally["examples"], tally
    assert tally["status 422"] >= 0.05 * tally["examples"], tally
    if full.runtime.token is not None:
        assert tally["status 401"] >= 0.05 * tally["examples"], tally


ROWS = [
    {"education": "PhD", "age": 42, "income": 50000},
    {"education": "High School", "age": 18, "income": 0.5},
    {"education": "Master", "age": "42", "income": 1000},  # a string age: 422
    {"education": "Bachelor", "age": 120, "income": 1e7, "extra": True},
]
BAD_BODIES = [b"", b"[]", b"{}", b"[", b"null", b'[{"education": "PhD"}]', b"\xff"]
good_rows = st.lists(st.sampled_from(ROWS[:2] + ROWS[3:]), min_size=1, max_size=3)
bodies = st.integers(0, 99).flatmap(
    lambda i: (
        good_rows.map(orjson.dumps)
        if i < 70
        else st.lists(st.sampled_from(ROWS), min_size=1, max_size=3).map(orjson.dumps)
        if i < 85
        else st.sampled_from(BAD_BODIES)
    )
)
OTHER_TYPES = [b"application/json; charset=utf-8", b"text/plain", b""]
content_types = st.integers(0, 99).map(
    lambda i: b"application/json" if i < 85 else OTHER_TYPES[i % 3]
)


def test_post_predict_answers_alike_and_decides_auth_as_the_fast_path(
    pair: tuple[RawApp, RawApp],
) -> None:
    """POST /predict is always FastAPI's; the same header set must open it exactly when it
    opens ``GET /predict`` on the fast path."""
    full, reference = pair
    fast_path = _fast_path(full)
    tally: Counter[str] = Counter()

    @EXAMPLES
    @given(headers=header_sets(), body=bodies, content_type=content_types)
    @example([], b"[", b"application/json")  # was a 422 before auth: 401 now, as GET
    @example([(b"cookie", COOKIES[1]), (b"cookie", b"spendcast_token=x")], b"[]", b"text/plain")
    def check(headers: Headers, body: bytes, content_type: bytes) -> None:
        lines = [*headers, (b"content-type", content_type)] if content_type else list(headers)
        before = full.rows(), reference.rows()
        answers = [app.call("POST", "/predict", b"", lines, body) for app in (full, reference)]
        _same(*answers)
        assert (full.rows() - before[0], reference.rows() - before[1]) == (
            _rows_per_200(answers[0]),
        ) * 2
        answered = fast_path.answered
        get = full.call("GET", "/predict", PLAIN, headers)
        assert (get.status == 401) == (answers[0].status == 401), (headers, get, answers[0])
        assert (fast_path.answered - answered) == (get.status == 200)
        tally["examples"] += 1
        tally["fast"] += get.status == 200
        tally[f"status {answers[0].status}"] += 1

    check()
    assert tally["fast"] >= 0.3 * tally["examples"], tally
    assert tally["status 200"] >= 0.2 * tally["examples"], tally
    if full.runtime.token is not None:
        assert tally["status 401"] >= 0.1 * tally["examples"], tally
