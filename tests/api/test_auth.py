"""Token auth: cookie or bearer on /predict and /train; the other routes stay open."""

from __future__ import annotations

import random

import pytest
from fastapi.testclient import TestClient
from starlette.requests import cookie_parser

from spendcast.api.auth import (
    MISSING_OR_WRONG,
    SEVERAL_AUTHORIZATIONS,
    SEVERAL_COOKIES,
    TOKEN_COOKIE,
    _token_cookie,
    token_refusal,
)
from tests.api.conftest import TOKEN

LAB_URL = "/predict?education=PhD&age=12&income=1000"
ROW = [{"education": "PhD", "age": 12, "income": 1000}]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
        {"Cookie": "spendcast_token=wrong"},
        {"Cookie": f"other={TOKEN}"},
        {"X-Token": TOKEN},
    ],
)
def test_predict_without_the_right_token_is_401(
    shared_token_client: TestClient, headers: dict[str, str]
) -> None:
    for response in (
        shared_token_client.get(LAB_URL, headers=headers),
        shared_token_client.post("/predict", json=ROW, headers=headers),
        shared_token_client.post("/train", headers=headers),
    ):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"]["code"] == "unauthorized"
        assert TOKEN not in response.text


def test_the_cookie_opens_predict(shared_token_client: TestClient) -> None:
    headers = {"Cookie": f"spendcast_token={TOKEN}"}
    assert shared_token_client.get(LAB_URL, headers=headers).status_code == 200
    assert shared_token_client.post("/predict", json=ROW, headers=headers).status_code == 200


def test_the_bearer_opens_predict(shared_token_client: TestClient) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert shared_token_client.get(LAB_URL, headers=headers).status_code == 200
    assert shared_token_client.post("/predict", json=ROW, headers=headers).status_code == 200


def test_auth_is_checked_before_the_query(shared_token_client: TestClient) -> None:
    assert shared_token_client.get("/predict?age=oops").status_code == 401


@pytest.mark.parametrize("path", ["/", "/health", "/ready", "/docs", "/openapi.json", "/metrics"])
def test_open_routes_need_no_token(shared_token_client: TestClient, path: str) -> None:
    assert shared_token_client.get(path).status_code == 200


def test_without_a_configured_token_predict_is_open(shared_client: TestClient) -> None:
    assert shared_client.get(LAB_URL).status_code == 200


def test_without_a_configured_token_train_is_403(shared_client: TestClient) -> None:
    response = shared_client.post("/train", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "forbidden"
    assert "SPENDCAST_API_TOKEN" in error["message"]


T = TOKEN.encode()


@pytest.mark.parametrize(
    "headers",
    [
        [(b"authorization", b"Bearer " + T)],
        [(b"authorization", b"bEaReR " + T)],
        [(b"authorization", b"Bearer  " + T + b" \t")],
        [(b"cookie", b"a=1; spendcast_token=" + T)],
        [(b"cookie", b'spendcast_token="' + T + b'"')],
        [(b"cookie", b"a=1"), (b"cookie", b"spendcast_token=" + T)],
        [(b"cookie", b"spendcast_token=" + T), (b"cookie", b"spendcast_token=" + T)],
        [(b"authorization", b"Basic eDp5"), (b"cookie", b"spendcast_token=" + T)],
        [(b"authorization", b"Bearer " + T), (b"cookie", b"spendcast_token=" + T)],
    ],
)
def test_the_token_is_accepted(headers: list[tuple[bytes, bytes]]) -> None:
    assert token_refusal(headers, T) is None


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ([], MISSING_OR_WRONG),
        ([(b"authorization", T)], MISSING_OR_WRONG),
        ([(b"authorization", b"Bearer\t" + T)], MISSING_OR_WRONG),  # the scheme ends at a space
        ([(b"authorization", b"Bearer " + T + "é".encode())], MISSING_OR_WRONG),
        ([(b"authorization", b"Bearer " + T + b"\xe9")], MISSING_OR_WRONG),
        ([(b"cookie", b"Spendcast_Token=" + T)], MISSING_OR_WRONG),  # names are case-sensitive
        ([(b"authorization", b"Bearer " + T), (b"authorization", b"Bearer " + T)],
         SEVERAL_AUTHORIZATIONS),
        ([(b"authorization", b"Bearer x"), (b"authorization", b"Bearer " + T)],
         SEVERAL_AUTHORIZATIONS),
        ([(b"cookie", b"spendcast_token=" + T), (b"cookie", b"spendcast_token=x")],
         SEVERAL_COOKIES),
        ([(b"cookie", b"spendcast_token=x; spendcast_token=" + T)], SEVERAL_COOKIES),
        # Every token presented must be the right one.
        ([(b"authorization", b"Bearer x"), (b"cookie", b"spendcast_token=" + T)],
         MISSING_OR_WRONG),
        ([(b"authorization", b"Bearer"), (b"cookie", b"spendcast_token=" + T)],
         MISSING_OR_WRONG),
    ],
)  # fmt: skip
def test_anything_else_is_refused(headers: list[tuple[bytes, bytes]], reason: str) -> None:
    assert token_refusal(headers, T) == reason


def test_several_cookie_headers_are_refused_on_every_path(shared_token_client: TestClient) -> None:
    """The audit's case: a good token in the first Cookie header, another in a later one."""
    headers = [("cookie", f"spendcast_token={TOKEN}"), ("cookie", "spendcast_token=other")]
    for response in (
        shared_token_client.get(LAB_URL, headers=headers),  # the fast path's query
        shared_token_client.get("/predict?education=PhD&age=%2B12&income=1e3", headers=headers),
        shared_token_client.post("/predict", json=ROW, headers=headers),
        shared_token_client.post("/train", headers=headers),
    ):
        assert response.status_code == 401
        assert response.json()["error"]["message"] == SEVERAL_COOKIES


def test_auth_is_checked_before_the_body(shared_token_client: TestClient) -> None:
    response = shared_token_client.post(
        "/predict", content=b"[", headers={"content-type": "application/json"}
    )
    assert response.status_code == 401


def _parsed_token_cookie(lines: list[bytes]) -> tuple[bytes | None, bool]:
    """The token cookie as Starlette's parser reads each ``;`` chunk (no shortcut)."""
    found: bytes | None = None
    for line in lines:
        for chunk in line.decode("latin-1").split(";"):
            value = cookie_parser(chunk).get(TOKEN_COOKIE)
            if value is None:
                continue
            if found is not None and value.encode("latin-1") != found:
                return None, True
            found = value.encode("latin-1")
    return found, False


PIECES = [b"a", b"Z", b"0", b"-", b"_", b"=", b";", b" ", b"\t", b'"', b"\\", b",", b"\x00"]
PIECES += [b"\x7f", b"\x85", b"\xa0", b"spendcast_token", b"spendcast_token="]


def test_a_plain_token_cookie_line_reads_as_the_parser_reads_it() -> None:
    # A line holding just ``spendcast_token=<cookie-octets>`` skips the parse: same result.
    rng = random.Random(13)
    for _ in range(20_000):
        lines = [
            b"".join(rng.choice(PIECES) for _ in range(rng.randint(0, 8)))
            for _ in range(rng.randint(1, 3))
        ]
        if rng.random() < 0.5:
            lines[0] = b"spendcast_token=" + lines[0]
        assert _token_cookie(lines) == _parsed_token_cookie(lines), lines
