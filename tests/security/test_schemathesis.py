"""Schemathesis, run from outside as its own CLI, against the OpenAPI document the real server
serves: every route, generated valid and invalid inputs, with the token and without it.

Passing means no 5xx, every response within its documented status codes, content type, headers
and schema, invalid data refused, and (without the token) protected routes never answered.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.support import TOKEN, module_server
from tests.support.server import Server

pytestmark = pytest.mark.e2e

SCHEMATHESIS = Path(sys.executable).with_name("st")
MAX_EXAMPLES = 150  # per operation and phase: the whole module stays well under two minutes
# Excluded with the token: schemathesis mutates one credential while the other stays valid, so
# "ignored_auth" cannot hold (the auth walk in test_auth.py covers it instead). Without the
# token: valid data is expected to be refused (401), so "positive_data_acceptance" cannot hold.
# Both: "allow_header_conformance" wants one 405 Allow header listing GET and POST for /predict;
# Starlette answers per route (Allow: GET), a harmless deviation.
RUNS = {
    "with-token": (TOKEN, "ignored_auth,allow_header_conformance"),
    "without-token": (None, "positive_data_acceptance,allow_header_conformance"),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, trained_model_dir: Path) -> Iterator[Server]:
    with module_server(tmp_path_factory.mktemp("schemathesis"), trained_model_dir) as running:
        yield running


@pytest.mark.parametrize("run", list(RUNS))
def test_schemathesis_finds_nothing(server: Server, run: str, tmp_path: Path) -> None:
    token, excluded = RUNS[run]
    command = [
        str(SCHEMATHESIS), "run", f"{server.url}/openapi.json",
        "--checks", "all", "--exclude-checks", excluded,
        "--max-examples", str(MAX_EXAMPLES), "--seed", "20240601",
        "--phases", "examples,coverage,fuzzing",
        "--generation-database", "none", "--workers", "2",
        "--request-timeout", "60", "--no-color",
        "--report", "junit", "--report-dir", str(tmp_path),
    ]  # fmt: skip
    if token is not None:
        command += ["--header", f"Authorization: Bearer {token}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-20_000:] + result.stderr[-5_000:]
    assert "7/7" in result.stdout or "Tested: 7" in result.stdout, result.stdout[-3_000:]
