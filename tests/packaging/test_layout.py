"""pyproject.toml's extras match the parts, and every setup path installs all of them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

from spendcast.extras import EXTRAS

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]


def _names(lines: list[str]) -> set[str]:
    return {Requirement(line).name.lower() for line in lines}


def test_plain_install_serves_and_trains_without_the_kit() -> None:
    plain = _names(PROJECT["dependencies"])
    assert {
        "fastapi",
        "uvicorn",
        "scikit-learn",
        "skops",
        "sqlalchemy",
        "prometheus-client",
    } <= plain
    assert {"click", "rich", "orjson", "pydantic-settings", "swagger-ui-bundle-v2"} <= plain
    assert not plain & {"locust", "hdrhistogram", "matplotlib", "psycopg", "pytest"}


def test_each_extra_holds_its_part() -> None:
    extras = PROJECT["optional-dependencies"]
    kit = {"locust", "hdrhistogram", "matplotlib", "scipy", "psutil", "py-spy"}
    assert _names(extras["loadtest"]) == kit
    assert _names(extras["postgres"]) == {"psycopg"}
    assert Requirement(extras["postgres"][0]).extras == {"binary"}
    assert set(EXTRAS) == {"loadtest", "postgres"}
    dev = [Requirement(line) for line in extras["dev"]]
    assert any(r.name == "spendcast" and r.extras == {"loadtest", "postgres"} for r in dev)


def test_make_install_and_ci_install_every_extra() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "pip install -q -e '.[dev]'" in makefile
    assert re.search(r"^make test$", (REPO_ROOT / ".ci" / "run").read_text(), re.MULTILINE)
    workflow = (REPO_ROOT / "deploy" / "github-actions.yml").read_text()
    assert "pip install '.[loadtest]'" in workflow
