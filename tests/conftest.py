"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["tests.support.postgres"]

POSTGRES_URL = os.environ.get(
    "SPENDCAST_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def trained_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model directory holding one model trained by the real `spendcast train`, once per run."""
    model_dir = tmp_path_factory.mktemp("models")
    subprocess.run(
        [sys.executable, "-m", "spendcast", "train", "--model-dir", str(model_dir)],
        check=True,
        capture_output=True,
    )
    return model_dir


@pytest.fixture
def workdir(tmp_path: Path, trained_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh directory for one server: its own SQLite file, log file and journal.

    SPENDCAST_MODEL_DIR points at a private copy of the trained model, so tests that retrain
    never disturb each other.
    """
    model_dir = tmp_path / "models"
    model_dir.mkdir()
    for artifact in trained_model_dir.iterdir():
        (model_dir / artifact.name).write_bytes(artifact.read_bytes())
    for name in [n for n in os.environ if n.startswith("SPENDCAST_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SPENDCAST_MODEL_DIR", str(model_dir))
    return tmp_path


def require_tool(path_or_name: str) -> None:
    """Skip with a visible reason when a system tool is missing, but fail in CI."""
    import shutil

    if shutil.which(path_or_name) is None:
        message = f"{path_or_name} is not installed (apt-get install it, see .ci/run)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
