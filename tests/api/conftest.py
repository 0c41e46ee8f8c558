"""An app per test, on its own SQLite file, log file and copy of the trained model; or one app
per module (``shared_client``, ``shared_token_client``) for tests that only read its answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from spendcast.api.app import create_app
from spendcast.settings import Settings
from tests.support.server import serve_from

TOKEN = "test-token-5f1c"


def make_settings(workdir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": f"sqlite:///{workdir / 'spendcast.db'}",
        "log_file": workdir / "api_logfile.log",
        "journal_dir": workdir / "journal",
        "model_poll_seconds": 0.2,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(workdir: Path) -> Settings:
    return make_settings(workdir)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """A client of an app whose lifespan runs (no token configured)."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def token_settings(workdir: Path) -> Settings:
    return make_settings(workdir, api_token=SecretStr(TOKEN))


@pytest.fixture
def token_client(token_settings: Settings) -> Iterator[TestClient]:
    """A client of an app that requires ``TOKEN``."""
    with TestClient(create_app(token_settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def shared_workdir(
    tmp_path_factory: pytest.TempPathFactory, trained_model_dir: Path
) -> Iterator[Path]:
    """``workdir`` for a whole module: one copy of the model, no ``SPENDCAST_*`` but its own."""
    with pytest.MonkeyPatch.context() as env:
        yield serve_from(tmp_path_factory.mktemp("shared-app"), trained_model_dir, env)


@pytest.fixture(scope="module")
def shared_settings(shared_workdir: Path) -> Settings:
    return make_settings(_fresh_dir(shared_workdir / "open"))


@pytest.fixture(scope="module")
def shared_client(shared_settings: Settings) -> Iterator[TestClient]:
    """``client``, started once per module: for tests that assert only on answers."""
    with TestClient(create_app(shared_settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def shared_token_client(shared_workdir: Path) -> Iterator[TestClient]:
    """``token_client``, started once per module: for tests that assert only on answers."""
    settings = make_settings(_fresh_dir(shared_workdir / "token"), api_token=SecretStr(TOKEN))
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _fresh_dir(path: Path) -> Path:
    path.mkdir()
    return path
