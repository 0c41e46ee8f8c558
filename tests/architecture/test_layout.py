"""``tests/`` mirrors the package: a folder per sub-package, plus named end-to-end suites.

A test of ``spendcast.loadtest.capacity`` lives in ``tests/loadtest/capacity``; a suite that
crosses packages on purpose (a real server killed, a browser, promtool) has its own folder,
named by its concern, listed here.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "spendcast"
TESTS = ROOT / "tests"
# Suites by concern, each across several packages (end-to-end, against real processes).
SUITES = {"architecture", "bench", "browser", "containers", "dependencies", "distributed",
          "docs", "e2e", "metrics", "multihost", "packaging", "reliability", "security",
          "support"}  # fmt: skip


def _folders(root: Path) -> set[str]:
    return {p.name for p in root.iterdir() if p.is_dir() and (p / "__init__.py").exists()}


def test_every_test_folder_is_a_package_or_a_named_suite() -> None:
    assert _folders(TESTS) - SUITES <= _folders(PACKAGE)
    assert {"api", "cli", "loadtest", "model", "monitoring"} <= _folders(TESTS)


def test_the_kit_tests_mirror_its_rooms() -> None:
    rooms = _folders(PACKAGE / "loadtest")
    assert {"run", "capacity", "compare", "profile", "report"} <= _folders(TESTS / "loadtest")
    assert _folders(TESTS / "loadtest") <= rooms
    assert not list((TESTS / "loadtest").glob("test_*.py"))  # none left beside the rooms


def test_a_cli_test_is_named_by_its_command() -> None:
    commands = {p.stem for p in (PACKAGE / "cli").glob("*.py")}
    tested = {p.stem.removeprefix("test_") for p in (TESTS / "cli").glob("test_*.py")}
    assert tested
    assert tested <= commands
