"""POST /train swaps this app's model at once; a model trained elsewhere is picked up by polling."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient
from pydantic import SecretStr

from spendcast.api.app import create_app
from spendcast.model.artifact import current_version
from spendcast.model.dataset import generate, write_csv
from spendcast.model.training import train_and_save
from tests.api.conftest import TOKEN, make_settings

LAB_URL = "/predict?education=PhD&age=12&income=1000"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _other_dataset(workdir: Path) -> Path:
    path = workdir / "other.csv"
    write_csv(generate(n_rows=300, seed=7), path)
    return path


def test_train_serves_the_new_version_at_once(workdir: Path) -> None:
    settings = make_settings(
        workdir, api_token=SecretStr(TOKEN), dataset_path=_other_dataset(workdir)
    )
    with TestClient(create_app(settings)) as client:
        before = client.get(LAB_URL, headers=AUTH)
        response = client.post("/train", headers=AUTH)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"version", "metrics"}
        assert body["version"] != before.headers["x-model-version"]
        assert body["version"] == current_version(settings.model_dir)
        assert 0 < body["metrics"]["r2_test"] <= 1
        after = client.get(LAB_URL, headers=AUTH)
        assert after.headers["x-model-version"] == body["version"]
        assert after.json() != before.json()
        assert client.get("/ready").json()["model_version"] == body["version"]
        metrics = client.get("/metrics").text
        assert f'spendcast_model_info{{version="{body["version"]}"}} 1.0' in metrics
        old = before.headers["x-model-version"]
        assert f'spendcast_model_info{{version="{old}"}} 0.0' in metrics


def test_a_model_trained_elsewhere_is_served_after_a_poll(workdir: Path) -> None:
    settings = make_settings(workdir, dataset_path=_other_dataset(workdir))
    with TestClient(create_app(settings)) as client:
        old = client.get(LAB_URL).headers["x-model-version"]
        new = train_and_save(settings).version  # as another worker or `spendcast train` would
        assert new != old
        deadline = time.monotonic() + 30
        while (served := client.get(LAB_URL).headers["x-model-version"]) == old:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert served == new
