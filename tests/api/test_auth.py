"""Token auth: cookie or bearer on /predict and /train; the other routes stay open."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

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
    token_client: TestClient, headers: dict[str, str]
) -> None:
    for response in (
        token_client.get(LAB_URL, headers=headers),
        token_client.post("/predict", json=ROW, headers=headers),
        token_client.post("/train", headers=headers),
    ):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"]["code"] == "unauthorized"
        assert TOKEN not in response.text


def test_the_cookie_opens_predict(token_client: TestClient) -> None:
    headers = {"Cookie": f"spendcast_token={TOKEN}"}
    assert token_client.get(LAB_URL, headers=headers).status_code == 200
    assert token_client.post("/predict", json=ROW, headers=headers).status_code == 200


def test_the_bearer_opens_predict(token_client: TestClient) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert token_client.get(LAB_URL, headers=headers).status_code == 200
    assert token_client.post("/predict", json=ROW, headers=headers).status_code == 200


def test_auth_is_checked_before_the_query(token_client: TestClient) -> None:
    assert token_client.get("/predict?age=oops").status_code == 401


@pytest.mark.parametrize("path", ["/", "/health", "/ready", "/docs", "/openapi.json", "/metrics"])
def test_open_routes_need_no_token(token_client: TestClient, path: str) -> None:
    assert token_client.get(path).status_code == 200


def test_without_a_configured_token_predict_is_open(client: TestClient) -> None:
    assert client.get(LAB_URL).status_code == 200


def test_without_a_configured_token_train_is_403(client: TestClient) -> None:
    response = client.post("/train", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "forbidden"
    assert "SPENDCAST_API_TOKEN" in error["message"]
