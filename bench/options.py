"""The options every benchmark spells alike, declared once, and what they do before it runs.

``--quick`` (short rounds, the same tables), ``--rounds N`` (interleaved rounds: the pairs of
every ratio; the benchmark's own default, another under ``--quick``), ``--pin/--no-pin``,
``--out DIR`` (``runs/bench/COMMAND``: where ``results.json`` goes) and ``--baseline REV``
(the same measurement on the ``src`` of a git revision, round by round beside this tree's:
``bench/baseline.py``; the benchmark's own code never sees it).

``--pin`` means "the measured code on cores of its own", as far as a benchmark can:

- ``servers``: the benchmark pins its servers and its load generator to separate cores
  (taskset), default on;
- ``process``: an in-process benchmark runs on one core, the last one this process may use
  (``os.sched_setaffinity``, inherited by its child processes), default on;
- ``none``: the benchmark runs what a user runs, where the OS puts it; ``--pin`` is refused
  in one line (exit code 2).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, cast

import click

from bench.baseline import run_paired
from spendcast.cli.env_options import F
from spendcast.cli.errors import BadInput

Pinning = Literal["servers", "process", "none"]

PIN_HELP: dict[Pinning, str] = {
    "servers": "Pin servers and the load generator to separate cores with taskset.",
    "process": "Run the benchmark (and its child processes) on one core, the last one.",
    "none": "Refused: this benchmark runs where the OS puts it, as a user runs it.",
}


def shared_options(
    benchmark: str, *, rounds: int, quick_rounds: int, quick: str, pin: Pinning = "servers"
) -> Callable[[F], F]:
    """The five options. ``rounds``/``quick_rounds`` are the benchmark's defaults (it gets
    ``rounds`` resolved); ``quick`` says what ``--quick`` shortens; ``pin`` what ``--pin`` does."""
    options = [
        click.option("--quick", is_flag=True, help=f"Short rounds, the same tables: {quick}."),
        click.option(
            "--rounds",
            type=click.IntRange(min=1),
            default=None,
            help=f"Interleaved rounds [{rounds}; --quick: {quick_rounds}].",
        ),
        click.option(
            "--pin/--no-pin", default=pin != "none", show_default=True, help=PIN_HELP[pin]
        ),
        click.option(
            "--out",
            type=click.Path(path_type=Path, file_okay=False),
            default=Path("runs/bench") / benchmark,
            show_default=True,
            help="Directory for results.json (and the benchmark's charts).",
        ),
        click.option(
            "--baseline",
            metavar="REV",
            default=None,
            help="Also measure the src of this git revision, each round beside this tree's, "
            "and write each figure's candidate / baseline ratio.",
        ),
    ]

    def declare(function: F) -> F:
        @functools.wraps(function)
        def run(*, baseline: str | None, **params: Any) -> Any:
            params["rounds"] = params["rounds"] or (quick_rounds if params["quick"] else rounds)
            if params["pin"] and pin == "none":
                raise BadInput("--pin: this benchmark runs where the OS puts it (--no-pin only)")
            if baseline is not None:
                context = click.get_current_context()
                return run_paired(context, baseline, params["rounds"], params["out"])
            if params["pin"] and pin == "process":
                os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
            return function(**params)

        declared = cast(F, run)
        for option in reversed(options):
            declared = option(declared)
        return declared

    return declare
