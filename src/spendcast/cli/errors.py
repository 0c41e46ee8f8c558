"""The exit codes of ``spendcast``: one table, from which every command's ``--help`` line is made.

    0  OK      the command did what it was asked
    1  FAILED  the operation failed: a run, a server, py-spy (click.ClickException's code)
    2  USAGE   input refused before anything ran (click.UsageError's code)
    3  GATE    a gate did not hold: an SLO, compare --fail-if

Each command documents what each code means for it in ``MEANINGS``; ``exit_codes(command)``
appends that sentence to the command's help, so --help, docs/cli.md (generated from it) and the
code raised never disagree. A gate exits 3 and nothing else does: a CI job tells "slower" from
"broken" by the code alone.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable

import click

from spendcast.cli.env_options import F


class ExitCode(enum.IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    GATE = 3


# command -> what each of its codes means; "spendcast" is the group's own help.
MEANINGS: dict[str, dict[ExitCode, str]] = {
    "spendcast": {
        ExitCode.OK: "success",
        ExitCode.FAILED: "the operation failed",
        ExitCode.USAGE: "usage error",
        ExitCode.GATE: "an SLO was breached",
    },
    "train": {
        ExitCode.OK: "trained (or, with --if-missing, a model was already there)",
        ExitCode.FAILED: "the model directory or the dataset could not be used",
        ExitCode.USAGE: "usage error",
    },
    "serve": {
        ExitCode.OK: "stopped",
        ExitCode.FAILED: "the server could not start or a worker could not restart",
        ExitCode.USAGE: "usage error",
    },
    "loadtest": {
        ExitCode.OK: "every SLO holds",
        ExitCode.FAILED: "the run failed (host unreachable, Locust crashed, no request completed)",
        ExitCode.USAGE: "usage error",
        ExitCode.GATE: "an SLO failed (or --abort-on-fail ended the run); a locustfile that sets "
        "environment.process_exit_code (Locust's CI recipe) exits with that code when every SLO "
        "holds",
    },
    "capacity": {
        ExitCode.OK: "a load that holds was found",
        ExitCode.FAILED: "the run failed",
        ExitCode.USAGE: "usage error",
        ExitCode.GATE: "the SLO broke already at the first step",
    },
    "compare": {
        ExitCode.OK: "compared (and the --fail-if gate holds)",
        ExitCode.FAILED: "a run or a server failed",
        ExitCode.USAGE: "usage error",
        ExitCode.GATE: "--fail-if: the candidate is slower (or different)",
    },
    "profile": {
        ExitCode.OK: "profiled",
        ExitCode.FAILED: "the run, the server or py-spy failed",
        ExitCode.USAGE: "usage error",
    },
    "history": {
        ExitCode.OK: "done",
        ExitCode.FAILED: "the store is unreachable or newer than this spendcast",
        ExitCode.USAGE: "usage error (an unknown run)",
    },
    "ui": {
        ExitCode.OK: "stopped with Ctrl-C",
        ExitCode.FAILED: "Locust failed",
        ExitCode.USAGE: "usage error (port in use, bad file)",
    },
    "report": {
        ExitCode.OK: "written",
        ExitCode.USAGE: "a directory is not a spendcast run directory",
    },
}


def exit_codes_line(command: str) -> str:
    """``Exit codes: 0 stopped, 1 the server could not start, 2 usage error.``"""
    meanings = MEANINGS[command]
    return "Exit codes: " + ", ".join(f"{code} {meanings[code]}" for code in sorted(meanings)) + "."


def exit_codes(command: str) -> Callable[[F], F]:
    """Append ``command``'s exit-code line to the docstring click turns into its --help; put it
    right under ``@click.command()`` (click reads the docstring when it builds the command)."""

    def document(function: F) -> F:
        text = inspect.cleandoc(function.__doc__ or "")
        function.__doc__ = f"{text}\n\n{exit_codes_line(command)}"
        return function

    return document


class BadInput(click.ClickException):
    """Input refused before anything runs, in one line (``Error: ...``), exit code 2."""

    exit_code = ExitCode.USAGE


class SloFailed(click.ClickException):
    """A gate did not hold: an SLO, or compare's --fail-if (exit code 3)."""

    exit_code = ExitCode.GATE
