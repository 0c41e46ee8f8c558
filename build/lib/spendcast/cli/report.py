"""``spendcast report``: one self-contained HTML page for run directories."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from spendcast.cli.options import Options

option = Options("report")


@click.command()
@click.argument(
    "run_dirs",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
@option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The HTML file [default: RUN_DIR/index.html for one directory, "
    "runs/report-<UTC timestamp>.html for several].",
)
def report(run_dirs: tuple[Path, ...], out_file: Path | None) -> None:
    """Write one HTML page for RUN_DIR... (a load test, a capacity search, a comparison or a
    profile): figures, verdicts and every chart inlined, so it opens anywhere, offline.

    Exit codes: 0 written, 2 a directory is not a spendcast run directory.
    """
    from spendcast.errors import ReportError
    from spendcast.loadtest.report.html import write_report

    if out_file is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        one = len(run_dirs) == 1
        out_file = run_dirs[0] / "index.html" if one else Path("runs") / f"report-{stamp}.html"
    try:
        page = write_report(list(run_dirs), out_file)
    except ReportError as error:
        raise click.UsageError(str(error)) from error
    click.echo(f"report: {page}")
