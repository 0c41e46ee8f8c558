"""A command whose extra is missing ends in one line naming the extra (exit 2), wherever the
missing module shows up: found before the import, raised by the import, or raised while running.

The dev install has every extra, so these tests make a module missing the way Python reports it;
tests/packaging/test_plain_install.py runs the real plain install.
"""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from spendcast import extras
from spendcast.cli import COMMANDS, main


@click.command()
def needs_scipy() -> None:
    raise ModuleNotFoundError("No module named 'scipy.stats'", name="scipy.stats")


@click.command()
def needs_a_bug_fixed() -> None:
    raise ModuleNotFoundError("No module named 'spendcast.nowhere'", name="spendcast.nowhere")


def _one_line_exit_2(args: list[str], extra: str, missing: str) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert lines == [
        f"Error: spendcast {args[0]} needs the {extra} extra, not installed (no {missing}): "
        f"pip install 'spendcast[{extra}]'"
    ]


def test_a_module_of_the_extra_missing_before_import(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(extras.EXTRAS, "loadtest", ("locust", "no_such_module_8f2e"))
    _one_line_exit_2(["loadtest", "--help"], "loadtest", "no_such_module_8f2e")


def test_a_module_missing_when_the_command_is_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(COMMANDS, "report", ("tests.cli.missing_extra_command:report", None))
    _one_line_exit_2(["report"], "loadtest", "matplotlib")


def test_a_module_missing_while_the_command_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(COMMANDS, "compare", ("tests.packaging.test_extras:needs_scipy", None))
    _one_line_exit_2(["compare"], "loadtest", "scipy.stats")


def test_a_missing_module_of_no_extra_is_a_bug_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        COMMANDS, "compare", ("tests.packaging.test_extras:needs_a_bug_fixed", None)
    )
    result = CliRunner().invoke(main, ["compare"])
    assert isinstance(result.exception, ModuleNotFoundError)
    assert result.exception.name == "spendcast.nowhere"


def test_every_extra_named_exists_in_the_package_metadata() -> None:
    from importlib.metadata import metadata

    provided = set(metadata("spendcast").get_all("Provides-Extra") or [])
    assert set(extras.EXTRAS) <= provided
    needed = {extra for _, extra in COMMANDS.values() if extra is not None}
    assert needed == {"loadtest"}
    assert extras.extra_providing("psycopg.pq") == "postgres"
    assert extras.extra_providing("sqlalchemy") is None
