"""The fast path's query parser on hand-picked cases; tests/api/test_differential.py holds it
against the FastAPI endpoint on generated requests."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from spendcast.api.fast_path import parse_query

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
        PLAIN + b"&" * 15,  # 17 separators in all: one more than a plain query may have
        PLAIN + b"&" * 60_000,  # declined after one count (it cost 54 ms as a loop)
    ],
)
def test_anything_else_goes_to_the_endpoint(query: bytes) -> None:
    assert parse_query(query) is None


def test_a_few_cache_busters_are_still_plain() -> None:
    assert parse_query(PLAIN + b"&_=1" * 14) == ("PhD", 12, 1000.0)


def test_both_paths_answer_the_same_bytes(client: TestClient) -> None:
    fast = client.get("/predict?education=PhD&age=12&income=1000")
    slow = client.get("/predict?education=PhD&age=%2B12&income=1e3")  # declined by the fast path
    assert parse_query(b"education=PhD&age=%2B12&income=1e3") is None
    assert fast.status_code == slow.status_code == 200
    assert fast.content == slow.content
    assert fast.headers == slow.headers
