"""One exit-code table (``spendcast.cli.errors``): every command's --help line is made from it,
and the exceptions the commands raise carry its codes."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from spendcast.cli import COMMANDS, MissingExtra, main
from spendcast.cli.errors import MEANINGS, BadInput, ExitCode, SloFailed, exit_codes_line


def test_every_command_has_its_exit_codes() -> None:
    assert set(MEANINGS) == {"spendcast", *COMMANDS}
    for meanings in MEANINGS.values():
        assert meanings[ExitCode.OK]
        assert meanings[ExitCode.USAGE]


@pytest.mark.parametrize("command", ["spendcast", *COMMANDS])
def test_help_says_the_table(command: str) -> None:
    args = [] if command == "spendcast" else [command]
    result = CliRunner().invoke(main, [*args, "--help"], terminal_width=1000)
    assert result.exit_code == ExitCode.OK, result.output
    assert exit_codes_line(command) in result.output


def test_the_line_lists_the_codes_in_order() -> None:
    assert exit_codes_line("serve") == (
        "Exit codes: 0 stopped, 1 the server could not start or a worker could not restart, "
        "2 usage error."
    )


def test_the_exceptions_carry_the_table_codes() -> None:
    assert BadInput("x").exit_code == MissingExtra("x").exit_code == ExitCode.USAGE
    assert click.UsageError("x").exit_code == ExitCode.USAGE  # click's own, the same code
    assert click.ClickException("x").exit_code == ExitCode.FAILED
    assert SloFailed("x").exit_code == ExitCode.GATE


def test_a_usage_error_exits_with_the_usage_code() -> None:
    result = CliRunner().invoke(main, ["report", "/nonexistent-run-dir"])
    assert result.exit_code == ExitCode.USAGE
    assert "Error: " in result.output
    assert "Traceback" not in result.output
