"""pyproject.toml bounds every dependency whose internals spendcast uses, and the versions
this suite runs against lie inside the declared ranges (what the other tests here exercise)."""

from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
# Each has a test in this folder that names the internal.
RELIES_ON_INTERNALS = {
    "fastapi",
    "starlette",
    "uvicorn",
    "scikit-learn",
    "skops",
    "prometheus-client",
    "swagger-ui-bundle-v2",
    "locust",
    "hdrhistogram",
}


def _requirements() -> list[Requirement]:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    extras = project["optional-dependencies"]
    lines = [*project["dependencies"], *extras["loadtest"], *extras["postgres"]]
    return [Requirement(line) for line in lines]


REQUIREMENTS: dict[str, Requirement] = {canonicalize_name(r.name): r for r in _requirements()}


@pytest.mark.parametrize("name", sorted(RELIES_ON_INTERNALS))
def test_a_dependency_whose_internals_are_used_has_an_upper_bound(name: str) -> None:
    requirement = REQUIREMENTS[canonicalize_name(name)]
    assert any(spec.operator in {"<", "<="} for spec in requirement.specifier), (
        f"{name} has no upper bound in pyproject.toml, while spendcast relies on its internals"
    )


@pytest.mark.parametrize("name", sorted(REQUIREMENTS))
def test_the_installed_version_is_inside_the_declared_range(name: str) -> None:
    requirement = REQUIREMENTS[name]
    try:
        installed = version(requirement.name)
    except PackageNotFoundError:
        pytest.fail(f"{requirement.name} is declared but not installed: pip install -e '.[dev]'")
    assert requirement.specifier.contains(installed, prereleases=True), (
        f"{requirement.name} {installed} is outside {requirement.specifier}: "
        "check its internals (tests/dependencies/) before widening the bound"
    )
