"""Several workers starting at once on an empty PostgreSQL database: one creates the table, the
others find it; none fails, none logs an error, and every answered prediction is recorded."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine

from spendcast.monitoring.table import schema_exists
from tests.reliability.support import recorded_incomes, serve

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.mark.parametrize("workers", [2, 4])
def test_workers_starting_together_create_the_schema_once(
    workdir: Path, postgres_url: str, workers: int
) -> None:
    engine = create_engine(postgres_url)
    assert not schema_exists(engine)
    env = {"SPENDCAST_DATABASE_URL": postgres_url}
    incomes = [float(20_000 + n) for n in range(40)]
    with serve(workdir, workers=workers, env=env) as server:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            for income in incomes:
                query: dict[str, str | float] = {
                    "education": "Bachelor",
                    "age": 30,
                    "income": income,
                }
                assert client.get("/predict", params=query).status_code == 200
        assert server.stop() == 0
    assert schema_exists(engine)
    engine.dispose()
    output = (workdir / "serve.log").read_text()
    assert "Traceback" not in output
    assert "ERROR" not in output
    assert output.count("Application startup complete.") == workers
    assert recorded_incomes(postgres_url) == incomes
