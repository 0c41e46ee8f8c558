"""An app per test, on its own SQLite file, log file and copy of the trained model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from spendcast.api.app import create_app
from spendcast.settings import Settings

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
