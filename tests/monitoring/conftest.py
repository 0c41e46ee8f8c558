"""Databases for the inference-log tests: a temp SQLite file, or a fresh PostgreSQL database
(``postgres_url``, from tests/support/postgres.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.small_disk import small_disk


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'spendcast.db'}"


@pytest.fixture
def journal_dir(tmp_path: Path) -> Path:
    return tmp_path / "journal"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using it runs once on SQLite and once on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(name)
    return url


__all__ = ["small_disk"]
