"""Every 4xx/5xx answer has the same JSON shape."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx
from fastapi.testclient import TestClient

from spendcast.api.app import create_app
from spendcast.settings import Settings
from tests.api.conftest import TOKEN, make_settings

ROW = {"education": "PhD", "age": 12, "income": 1000}


def assert_error_shape(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert error["status"] == status
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    assert set(error) <= {"status", "code", "message", "details"}
    for detail in error.get("details", []):
        assert set(detail) == {"field", "message"}
    return error


def test_one_shape_for_every_error(workdir: Any, token_settings: Settings) -> None:
    limited = token_settings.model_copy(update={"batch_limit": 1})
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(create_app(limited)) as client:
        assert_error_shape(client.get("/predict"), 401, "unauthorized")
        assert_error_shape(client.get("/nowhere", headers=auth), 404, "not_found")
        response = client.delete("/predict", headers=auth)
        assert_error_shape(response, 405, "method_not_allowed")
        assert "GET" in response.headers["allow"]
        assert_error_shape(
            client.post("/predict", json=[ROW, ROW], headers=auth), 413, "payload_too_large"
        )
        response = client.post(
            "/predict", content=b"x", headers={**auth, "content-type": "text/csv"}
        )
        assert_error_shape(response, 415, "unsupported_media_type")
        error = assert_error_shape(
            client.get("/predict?age=1", headers=auth), 422, "validation_error"
        )
        assert {d["field"] for d in error["details"]} == {"education", "income"}
    with TestClient(create_app(make_settings(workdir))) as client:
        assert_error_shape(client.post("/train"), 403, "forbidden")


def test_unexpected_errors_are_500_without_internals(settings: Settings) -> None:
    app = create_app(settings)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
        error = assert_error_shape(response, 500, "internal_error")
        assert "secret" not in response.text
        assert error["message"] == "internal error"
