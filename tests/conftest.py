"""Fixtures shared by every test folder, and the test tiers.

``slow`` is given here, at collection, to every test that starts a real server, subprocess or
browser, or runs a property search (hypothesis): its folder, marker, fixture or module says so,
so a test added to one of those folders or modules is slow without being marked by hand.
``make check`` runs the rest (``-m "not slow"``), ``make test`` everything.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytest_plugins = ["tests.support.postgres"]

TESTS = Path(__file__).resolve().parent
# Folders (first level under tests/) whose every test starts servers, subprocesses or browsers.
SLOW_FOLDERS = frozenset({"e2e", "reliability", "distributed", "browser", "bench", "packaging"})
# Markers and fixtures that mean the same in any other folder.
SLOW_MARKERS = frozenset({"e2e", "browser", "postgres"})
SLOW_FIXTURES = frozenset({"live_metrics", "postgres_url"})
# A test module that imports one of these starts processes.
PROCESS_MODULES = frozenset({"subprocess", "multiprocessing", "concurrent.futures"})
POSTGRES_URL = os.environ.get(
    "SPENDCAST_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def is_slow(item: pytest.Item) -> bool:
    folder = item.path.relative_to(TESTS).parts[0]
    markers = {marker.name for marker in item.iter_markers()}
    fixtures = set(getattr(item, "fixturenames", ()))
    module = getattr(item, "module", None)
    names = vars(module).values() if module is not None else ()
    imported = {v.__name__ for v in names if isinstance(v, ModuleType)}
    function = getattr(item, "function", None)
    return (
        folder in SLOW_FOLDERS
        or bool(markers & SLOW_MARKERS or fixtures & SLOW_FIXTURES or imported & PROCESS_MODULES)
        or getattr(function, "is_hypothesis_test", False)
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if is_slow(item):
            item.add_marker(pytest.mark.slow)


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
