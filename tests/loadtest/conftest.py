"""Run directories several test modules only read, made once per run (per xdist worker unless
``tests/conftest.py`` lists the fixture in ``SHARED_FIXTURES``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.run_dirs import capacity_dir


@pytest.fixture(scope="session")
def capacity_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real users-mode capacity search of the 20 ms ``fixed_service_app`` (``capacity_dir``):
    its steps, knee diagnosis, summary and plots. Tests read it and write nothing into it."""
    return capacity_dir(tmp_path_factory.mktemp("capacity") / "capacity")
