"""GET and POST /predict: the lab's contract, validation, batches, and one row per answer."""

from __future__ import annotations

import math

import pytest
from fastapi.testclient import TestClient

from spendcast.api.app import create_app
from spendcast.model.artifact import load_predictor
from spendcast.monitoring import read_rows
from spendcast.settings import Settings

LAB_URL = "/predict?education=PhD&age=12&income=1000"


def test_the_labs_url_answers_a_bare_number(
    shared_client: TestClient, shared_settings: Settings
) -> None:
    response = shared_client.get(LAB_URL)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    value = response.json()
    assert isinstance(value, float)
    predictor = load_predictor(shared_settings.model_dir)
    assert value == predictor.predict_one("PhD", 12, 1000.0)
    assert response.headers["x-model-version"] == predictor.version


@pytest.mark.parametrize("education", ["High School", "Bachelor", "Master", "PhD"])
def test_every_education_level_is_accepted(shared_client: TestClient, education: str) -> None:
    response = shared_client.get(
        "/predict", params={"education": education, "age": 42, "income": 5e4}
    )
    assert response.status_code == 200
    assert math.isfinite(response.json())


def test_bounds_are_inclusive(shared_client: TestClient) -> None:
    for age, income in [(0, 0), (120, 10_000_000)]:
        response = shared_client.get(
            "/predict", params={"education": "PhD", "age": age, "income": income}
        )
        assert response.status_code == 200, response.text


def test_unknown_query_parameters_are_ignored(shared_client: TestClient) -> None:
    response = shared_client.get(LAB_URL + "&cache_buster=123")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("education=Kindergarten&age=42&income=1000", "education"),
        ("education=phd&age=42&income=1000", "education"),
        ("education=PhD&age=-1&income=1000", "age"),
        ("education=PhD&age=121&income=1000", "age"),
        ("education=PhD&age=42.5&income=1000", "age"),
        ("education=PhD&age=abc&income=1000", "age"),
        ("education=PhD&age=99999999999999999999999&income=1000", "age"),
        ("education=PhD&age=42&income=-1", "income"),
        ("education=PhD&age=42&income=nan", "income"),
        ("education=PhD&age=42&income=NaN", "income"),
        ("education=PhD&age=42&income=inf", "income"),
        ("education=PhD&age=42&income=-inf", "income"),
        ("education=PhD&age=42&income=1e309", "income"),
        ("education=PhD&age=42&income=10000000.01", "income"),
        ("age=42&income=1000", "education"),
        ("education=PhD&income=1000", "age"),
        ("education=PhD&age=42", "income"),
    ],
)
def test_bad_queries_are_422_with_the_field(
    shared_client: TestClient, query: str, field: str
) -> None:
    response = shared_client.get(f"/predict?{query}")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert [d["field"] for d in error["details"]] == [field]
    assert field in error["message"]


def test_missing_everything_lists_every_field(shared_client: TestClient) -> None:
    details = shared_client.get("/predict").json()["error"]["details"]
    assert sorted(d["field"] for d in details) == ["age", "education", "income"]


def test_post_predicts_each_row_in_order(
    shared_client: TestClient, shared_settings: Settings
) -> None:
    customers = [("PhD", 12, 1000.0), ("High School", 70, 25000.5), ("Master", 33, 0.0)]
    rows = [{"education": e, "age": a, "income": i} for e, a, i in customers]
    response = shared_client.post("/predict", json=rows)
    assert response.status_code == 200
    predictor = load_predictor(shared_settings.model_dir)
    assert response.json() == [predictor.predict_one(*customer) for customer in customers]
    assert response.headers["x-model-version"] == predictor.version
    assert shared_client.post("/predict", json=[]).json() == []
    extra = [{**rows[0], "unknown": "ignored"}]
    assert shared_client.post("/predict", json=extra).json() == response.json()[:1]


def test_post_over_the_batch_limit_is_413(settings: Settings) -> None:
    limited = settings.model_copy(update={"batch_limit": 2})
    row = {"education": "PhD", "age": 12, "income": 1000}
    with TestClient(create_app(limited)) as client:
        assert client.post("/predict", json=[row, row]).status_code == 200
        response = client.post("/predict", json=[row, row, {"bad": "row"}])
        assert response.status_code == 413
        assert "limit of 2" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b'[{"education": "PhD", "age": 12, "income": 1000}', "application/json", 422),
        (b"not json", "application/json", 422),
        (b'{"education": "PhD", "age": 12, "income": 1000}', "application/json", 422),
        (b'[{"education": "PhD", "age": 12}]', "application/json", 422),
        (b'[{"education": "PhD", "age": 12, "income": "lots"}]', "application/json", 422),
        (b"[1, 2]", "application/json", 422),
        (b"", "application/json", 422),
        (b'[{"education": "PhD", "age": 12, "income": 1000}]', "text/plain", 415),
        (b"education=PhD&age=12&income=1000", "application/x-www-form-urlencoded", 415),
    ],
)
def test_post_bad_bodies(
    shared_client: TestClient, content: bytes, content_type: str, status: int
) -> None:
    response = shared_client.post(
        "/predict", content=content, headers={"content-type": content_type}
    )
    assert response.status_code == status, response.text
    assert response.json()["error"]["status"] == status


def test_post_names_the_bad_row_and_field(shared_client: TestClient) -> None:
    rows = [
        {"education": "PhD", "age": 12, "income": 1000},
        {"education": "PhD", "age": 500, "income": 1},
    ]
    details = shared_client.post("/predict", json=rows).json()["error"]["details"]
    assert details[0]["field"] == "1.age"


def test_every_200_is_one_row_with_the_exact_values(settings: Settings) -> None:
    answered: list[tuple[str, int, float, float, str]] = []
    queries = [("PhD", 12, 1000.0), ("Bachelor", 25, 31000.25), ("Master", 64, 99999.0)]
    with TestClient(create_app(settings)) as client:
        for education, age, income in queries:
            response = client.get(
                "/predict", params={"education": education, "age": age, "income": income}
            )
            version = response.headers["x-model-version"]
            answered.append((education, age, income, response.json(), version))
        assert client.get("/predict?education=PhD&age=500&income=1").status_code == 422
        batch = [{"education": "High School", "age": 18, "income": 12.5}] * 4
        response = client.post("/predict", json=batch)
        version = response.headers["x-model-version"]
        answered += [("High School", 18, 12.5, value, version) for value in response.json()]
    # Leaving the client ran the lifespan shutdown: the recorder has flushed.
    rows = read_rows(settings.database_url)
    recorded = sorted(
        (r["education"], r["age"], r["income"], r["prediction"], r["model_version"]) for r in rows
    )
    assert recorded == sorted(answered)


def test_a_row_the_recorder_cannot_keep_is_a_503_with_retry_after(settings: Settings) -> None:
    app = create_app(settings)
    with TestClient(app) as client:
        app.state.runtime.recorder.stop()  # refuses every row from now on, keeping none
        get = client.get("/predict?education=PhD&age=42&income=50000")  # fast path, endpoint
        post = client.post("/predict", json=[{"education": "PhD", "age": 1, "income": 2}] * 3)
        metrics = client.get("/metrics").text
    for response in (get, post):
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        error = response.json()["error"]
        assert (error["status"], error["code"]) == (503, "unavailable")
        assert "could not be recorded" in error["message"]
    assert "spendcast_predictions_refused_total 4.0" in metrics
    assert "spendcast_predictions_total 0.0" in metrics
    assert read_rows(settings.database_url) == []


def test_re_seeding_random_in_the_server_never_repeats_an_inference_id(
    settings: Settings,
) -> None:
    """``ON CONFLICT DO NOTHING`` would drop a row with a repeated id without a word."""
    import random

    queries = [
        "/predict?education=PhD&age=12&income=1000",  # the fast path
        "/predict?education=PhD&age=%2B12&income=1000",  # FastAPI
    ]
    with TestClient(create_app(settings)) as client:
        for i in range(40):
            random.seed(0)  # in the server's process, before each request
            assert client.get(queries[i % 2]).status_code == 200
        random.seed(0)
        batch = [{"education": "PhD", "age": 1, "income": 2}] * 10
        assert client.post("/predict", json=batch).status_code == 200
    rows = read_rows(settings.database_url)  # the lifespan has ended: every row is written
    assert len(rows) == 50
    assert len({row["id"] for row in rows}) == 50
