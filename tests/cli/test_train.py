"""``spendcast train`` run for real, as a subprocess, in a temporary directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from spendcast.model.artifact import POINTER, current_version, load_predictor, read_metadata
from spendcast.model.dataset import generate, packaged_dataset_path, write_csv


def _train(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SPENDCAST_")}
    clean["COLUMNS"] = "120"
    return subprocess.run(
        [sys.executable, "-m", "spendcast", "train", *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_train_saves_a_model_into_the_default_directory(tmp_path: Path) -> None:
    result = _train(tmp_path)
    assert result.returncode == 0, result.stderr
    version = current_version(tmp_path / "models")
    assert version is not None
    assert f"version: {version}" in result.stdout
    assert f"models/spendcast-{version}.skops" in result.stdout
    for word in ("train", "test", "MSE", "R²", "800", "200"):
        assert word in result.stdout
    metrics = read_metadata(tmp_path / "models", version)["metrics"]
    assert f"{metrics['r2_test']:.4f}" in result.stdout
    assert load_predictor(tmp_path / "models").predict_one("PhD", 42, 50_000.0) > 0


def test_if_missing_keeps_the_existing_model(tmp_path: Path) -> None:
    first = _train(tmp_path, "--model-dir", "m", "--if-missing")
    assert first.returncode == 0, first.stderr
    version = current_version(tmp_path / "m")
    assert version is not None
    files = sorted(p.name for p in (tmp_path / "m").iterdir())

    again = _train(tmp_path, "--model-dir", "m", "--if-missing")
    assert again.returncode == 0, again.stderr
    assert f"model {version} already in m" in again.stdout
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == files

    forced = _train(tmp_path, "--model-dir", "m")
    assert forced.returncode == 0, forced.stderr
    assert current_version(tmp_path / "m") not in {None, version}


def test_options_come_from_the_environment(tmp_path: Path) -> None:
    dataset = tmp_path / "small.csv"
    write_csv(generate(100, seed=3), dataset)
    env = {
        "SPENDCAST_MODEL_DIR": str(tmp_path / "env-models"),
        "SPENDCAST_DATASET_PATH": str(dataset),
    }
    result = _train(tmp_path, "--seed", "7", env=env)
    assert result.returncode == 0, result.stderr
    version = current_version(tmp_path / "env-models")
    assert version is not None
    metrics = read_metadata(tmp_path / "env-models", version)["metrics"]
    assert (metrics["n_train"], metrics["n_test"]) == (80, 20)
    assert str(dataset) in result.stdout


def test_a_missing_dataset_is_a_usage_error(tmp_path: Path) -> None:
    result = _train(tmp_path, "--dataset", "nowhere.csv")
    assert result.returncode == 2
    assert "dataset nowhere.csv does not exist" in result.stderr
    assert not (tmp_path / "models").exists()


def test_a_malformed_dataset_fails_with_a_clear_message(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("age,education,income\n30,PhD,1000\n")
    result = _train(tmp_path, "--dataset", "bad.csv")
    assert result.returncode == 1
    assert "Error: training failed: bad.csv: missing columns ['spending']" in result.stderr
    assert "Traceback" not in result.stderr
    assert current_version(tmp_path / "models") is None


def test_a_corrupt_pointer_fails_cleanly(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / POINTER).write_text("garbage")
    result = _train(tmp_path, "--if-missing")
    assert result.returncode == 1
    assert "does not hold a model version" in result.stderr


def test_regenerate_dataset_writes_the_shipped_csv(tmp_path: Path) -> None:
    result = _train(tmp_path, "--regenerate-dataset", "out/customers.csv")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out/customers.csv").read_bytes() == packaged_dataset_path().read_bytes()
    assert not (tmp_path / "models").exists()


def test_help_explains_every_option(tmp_path: Path) -> None:
    result = _train(tmp_path, "--help")
    assert result.returncode == 0
    for option in ("--dataset", "--model-dir", "--seed", "--if-missing", "--regenerate-dataset"):
        assert option in result.stdout
    for variable in ("SPENDCAST_DATASET_PATH", "SPENDCAST_MODEL_DIR"):
        assert variable in result.stdout
