"""The open routes: /, /health, /ready, /docs, /openapi.json, and the proxy prefix."""

from __future__ import annotations

from fastapi.testclient import TestClient

from spendcast.api.app import create_app
from spendcast.settings import Settings


def test_root_points_to_the_docs(shared_client: TestClient) -> None:
    response = shared_client.get("/")
    assert response.status_code == 200
    assert response.json()["docs"] == "/docs"
    assert "/docs" in response.json()["message"]


def test_health_is_ok(shared_client: TestClient) -> None:
    response = shared_client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_shows_the_model_and_the_recorder(shared_client: TestClient) -> None:
    response = shared_client.get("/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["reasons"] == []
    assert body["model_version"]
    recorder = body["recorder"]
    assert recorder["running"] is True
    assert recorder["database_ok"] is True
    assert recorder["journal_ok"] is True
    assert recorder["buffer_full"] is False
    for counter in ("backlog", "written", "spilled", "replayed", "failed_batches", "dropped"):
        assert recorder[counter] >= 0
    assert (recorder["journal_errors"], recorder["unjournaled"]) == (0, 0)


def test_docs_and_openapi(shared_client: TestClient) -> None:
    docs = shared_client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    assert "/openapi.json" in docs.text
    # Served from the package, not a CDN: /docs works on a machine without internet access.
    assert "cdn" not in docs.text
    assert shared_client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert shared_client.get("/docs/assets/swagger-ui.css").status_code == 200
    spec = shared_client.get("/openapi.json").json()
    assert {"/", "/health", "/ready", "/predict", "/train", "/metrics"} <= set(spec["paths"])
    parameters = {p["name"]: p for p in spec["paths"]["/predict"]["get"]["parameters"]}
    assert set(parameters) == {"education", "age", "income"}
    assert all(p["required"] for p in parameters.values())
    education = parameters["education"]["schema"]
    assert education["enum"] == ["High School", "Bachelor", "Master", "PhD"]


def test_openapi_declares_cookie_and_bearer_auth(shared_client: TestClient) -> None:
    spec = shared_client.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["APIKeyCookie"] == {
        "type": "apiKey",
        "in": "cookie",
        "name": "spendcast_token",
        "description": schemes["APIKeyCookie"]["description"],
    }
    assert schemes["HTTPBearer"]["scheme"] == "bearer"
    security = spec["paths"]["/predict"]["get"]["security"]
    assert {"APIKeyCookie": []} in security
    assert {"HTTPBearer": []} in security
    assert "security" not in spec["paths"]["/health"]["get"]


def test_docs_work_under_a_proxy_prefix(settings: Settings) -> None:
    # The proxy strips /api before forwarding; the server was told with root_path.
    with TestClient(create_app(settings), root_path="/api") as client:
        spec = client.get("/openapi.json").json()
        assert spec["servers"] == [{"url": "/api"}]
        docs = client.get("/docs")
        assert docs.status_code == 200
        assert "'/api/openapi.json'" in docs.text or '"/api/openapi.json"' in docs.text
        assert client.get("/").json()["docs"] == "/api/docs"
        assert client.get("/predict?education=PhD&age=12&income=1000").status_code == 200


def test_ready_is_503_once_the_recorder_stops(settings: Settings) -> None:
    app = create_app(settings)
    with TestClient(app) as client:
        app.state.runtime.recorder.stop()
        response = client.get("/ready")
        assert response.status_code == 503
        body = response.json()
        assert body["error"]["code"] == "unavailable"
        assert body["error"]["message"] == "not ready: recorder stopped"
        assert (body["status"], body["reasons"]) == ("not ready", ["recorder stopped"])
        assert body["recorder"]["running"] is False
        assert client.get("/health").status_code == 200
