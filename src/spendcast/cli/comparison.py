"""A comparison's directory written and its verdict printed: ``compare``, and ``loadtest
--compare-baseline`` through ``history``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from spendcast.loadtest.compare.pairs import Comparison


def show_comparison(comparison: Comparison, out: Path) -> None:
    """Write the comparison's directory and print its table, verdict and page."""
    from spendcast.loadtest.compare.report import write_comparison

    page = write_comparison(comparison, out)
    click.echo((out / "comparison.md").read_text(encoding="utf-8").split("\n![")[0].rstrip())
    click.echo(f"\nverdict: {comparison.verdict}")
    click.echo(f"report: {page}")
