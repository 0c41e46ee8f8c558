"""The fast path of GET /predict accepts only what the FastAPI endpoint accepts, identically."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from starlette.datastructures import QueryParams

from spendcast.api.fast_path import has_token, parse_query
from spendcast.api.schemas import Customer
from tests.api.conftest import TOKEN

PLAIN = b"education=PhD&age=12&income=1000"


@pytest.mark.parametrize(
    ("query", "parsed"),
    [
        (PLAIN, ("PhD", 12, 1000.0)),
        (b"income=0.5&age=0&education=High+School", ("High School", 0, 0.5)),
        (b"education=High%20School&age=120&income=10000000&x=1", ("High School", 120, 1e7)),
        (b"education=Master&age=012&income=.25", ("Master", 12, 0.25)),
    ],
)
def test_plain_queries_are_parsed(query: bytes, parsed: tuple[str, int, float]) -> None:
    assert parse_query(query) == parsed


@pytest.mark.parametrize(
    "query",
    [
        b"",
        b"education=PhD&age=12",
        b"education=phd&age=12&income=1000",
        b"education=PhD&age=121&income=1000",
        b"education=PhD&age=-1&income=1000",
        b"education=PhD&age=+12&income=1000",
        b"education=PhD&age=12&income=1e3",
        b"education=PhD&age=12&income=nan",
        b"education=PhD&age=12&income=.",
        b"education=PhD&age=12&income=1.2.3",
        b"education=PhD&age=12&income=10000000.5",
        b"education=PhD&age=12&age=13&income=1000",
        b"education=PhD&%61ge=12&income=1000",
        b"education=PhD&age=" + b"9" * 40 + b"&income=1000",
    ],
)
def test_anything_else_goes_to_the_endpoint(query: bytes) -> None:
    assert parse_query(query) is None


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["education", "age", "income", "other"]),
            st.one_of(
                st.sampled_from(["PhD", "High School", "Master", "Bachelor", "phd", ""]),
                st.from_regex(r"[0-9.eE+\- ]{0,8}", fullmatch=True),
                st.integers(-5, 200).map(str),
                st.floats(allow_nan=True, allow_infinity=True).map(str),
            ),
        ),
        max_size=5,
    )
)
def test_fast_path_accepts_a_subset_of_the_endpoint(pairs: list[tuple[str, str]]) -> None:
    query = urlencode(pairs).encode()
    parsed = parse_query(query)
    if parsed is None:
        return
    params = QueryParams(query)  # what FastAPI validates: the last value of each name
    try:
        customer = Customer.model_validate(dict(params))
    except ValidationError as error:
        pytest.fail(f"fast path accepted {query!r}, the endpoint refuses it: {error}")
    assert parsed == (customer.education, customer.age, customer.income)


def test_both_paths_answer_the_same_bytes(client: TestClient) -> None:
    fast = client.get("/predict?education=PhD&age=12&income=1000")
    slow = client.get("/predict?education=PhD&age=%2B12&income=1e3")  # declined by the fast path
    assert parse_query(b"education=PhD&age=%2B12&income=1e3") is None
    assert fast.status_code == slow.status_code == 200
    assert fast.content == slow.content
    assert fast.headers == slow.headers


def test_token_in_the_first_bearer_or_cookie_header() -> None:
    token = TOKEN.encode()
    assert has_token([(b"authorization", b"Bearer " + token)], token)
    assert has_token([(b"authorization", b"bearer " + token)], token)
    assert has_token([(b"cookie", b"a=1; spendcast_token=" + token)], token)
    assert has_token(
        [(b"authorization", b"Basic x"), (b"cookie", b"spendcast_token=" + token)], token
    )
    assert not has_token([], token)
    assert not has_token([(b"authorization", b"Bearer wrong")], token)
    assert not has_token([(b"authorization", token)], token)
    assert not has_token([(b"cookie", b"other=" + token)], token)
    assert not has_token(
        [(b"authorization", b"Bearer x"), (b"authorization", b"Bearer " + token)], token
    )
