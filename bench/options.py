"""The options every benchmark that has them spells alike, declared once.

``--quick`` (short rounds, the same tables), ``--rounds N`` (interleaved rounds: the pairs of
every ratio), ``--pin/--no-pin`` (servers and load generator on separate cores with taskset)
and ``--out DIR`` (``runs/bench/COMMAND``: where ``results.json`` goes).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from spendcast.cli.env_options import F


def shared_options(benchmark: str, *, rounds: str, quick: str) -> Callable[[F], F]:
    """The four options; ``rounds`` and ``quick`` tell the benchmark's own defaults."""
    options = [
        click.option("--quick", is_flag=True, help=f"Short rounds, the same tables: {quick}."),
        click.option("--rounds", type=int, default=None, help=f"Interleaved rounds [{rounds}]."),
        click.option(
            "--pin/--no-pin",
            default=True,
            show_default=True,
            help="Pin servers and the load generator to separate cores with taskset.",
        ),
        click.option(
            "--out",
            type=click.Path(path_type=Path, file_okay=False),
            default=Path("runs/bench") / benchmark,
            show_default=True,
            help="Directory for results.json (and the benchmark's charts).",
        ),
    ]

    def declare(function: F) -> F:
        for option in reversed(options):
            function = option(function)
        return function

    return declare
