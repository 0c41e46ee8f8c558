"""A run against the blessed baseline of its key: ``compare --against-baseline`` and ``loadtest
--compare-baseline``; and the note when two runs of different keys are compared."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from spendcast.cli.errors import BadInput
from spendcast.errors import LoadTestError

if TYPE_CHECKING:
    from spendcast.loadtest.compare.pairs import Comparison

BASELINE_COMPARISON_DIR = "baseline-comparison"


def baseline_comparison(run_dir: Path, threshold: float | None = None) -> Comparison:
    """``run_dir`` against the blessed baseline of its key; no baseline or store: one line."""
    from spendcast.loadtest.history import HistoryStore, store_url
    from spendcast.loadtest.history.baseline import NoBaseline, against_baseline

    try:
        with HistoryStore(store_url()) as store:
            comparison, base, run = against_baseline(run_dir, store, threshold=threshold)
    except (NoBaseline, ValueError) as error:
        raise BadInput(str(error)) from error
    except LoadTestError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"against the baseline of key {run.short_key}: run #{base.id} "
               f"({base.started_at}, {base.run_dir})")  # fmt: skip
    return comparison


def check_baseline(run_dir: Path) -> str | None:
    """``loadtest --compare-baseline``: the run against its key's baseline, written to
    ``RUN_DIR/baseline-comparison``; why it is slower, or ``None``. Without a baseline or a
    store, one warning line: the run itself stands."""
    from spendcast.cli.comparison import show_comparison

    try:
        comparison = baseline_comparison(run_dir)
    except click.ClickException as error:
        click.echo(f"warning: not compared with a baseline: {error.format_message()}", err=True)
        return None
    show_comparison(comparison, run_dir / BASELINE_COMPARISON_DIR)
    return comparison.failure("slower")


def warn_unlike(baseline: Path, candidate: Path) -> None:
    """Two runs of different comparability keys are compared, but not without saying so."""
    from spendcast.loadtest.history.append import directory_record
    from spendcast.loadtest.history.key import differences

    try:
        base, cand = directory_record(baseline), directory_record(candidate)
    except ValueError:
        return
    if base.key != cand.key:
        what = ", ".join(differences(base.key_inputs, cand.key_inputs))
        click.echo(f"note: the two runs are not like for like (keys {base.short_key} and "
                   f"{cand.short_key} differ in {what})", err=True)  # fmt: skip
