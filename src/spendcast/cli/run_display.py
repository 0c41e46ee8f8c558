"""A run shown in the terminal (live progress, results) and its CI reports; shared by
``loadtest``, ``capacity`` and the scripts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import click

from spendcast.errors import LoadTestError
from spendcast.loadtest.run.config import RunConfig
from spendcast.loadtest.run.load import ReplayLoad
from spendcast.loadtest.run.result import RunResult
from spendcast.loadtest.shared.progress import Progress
from spendcast.loadtest.shared.run_summary import Summary
from spendcast.loadtest.shared.slo import SloResult


class LocustExit(click.ClickException):
    """Locust ended with a non-zero code, the locustfile's own verdict: the run's exit code."""

    def __init__(self, code: int) -> None:
        super().__init__(
            f"Locust exited with code {code} (the locustfile's environment.process_exit_code, "
            "or an error in it: see locust.log)"
        )
        self.exit_code = code  # type: ignore[misc]  # click declares it a ClassVar; per run here


def ci_reports(
    summary: Summary,
    results: Sequence[SloResult],
    junit_path: Path | None,
    title: str,
    note: str = "",
) -> None:
    """``--junit FILE`` and, when ``GITHUB_STEP_SUMMARY`` is set, the job summary."""
    import os

    from spendcast.loadtest.run.ci_report import (
        STEP_SUMMARY_ENV,
        append_step_summary,
        markdown,
        write_junit,
    )

    if junit_path is not None:
        write_junit(junit_path, summary, results, title)
    if step_summary := os.environ.get(STEP_SUMMARY_ENV):
        append_step_summary(Path(step_summary), markdown(summary, results, title, note))


def execute(
    config: RunConfig,
    *,
    quiet: bool = False,
    on_progress: Callable[[Progress], None] | None = None,
) -> RunResult:
    """Run ``config`` showing live progress and the results; ``LoadTestError`` -> exit code 1.

    ``on_progress`` also gets every live sample (exports to dashboards)."""
    from rich.console import Console

    from spendcast.loadtest.run.display import LiveProgress, print_results, slo_lines
    from spendcast.loadtest.run.runner import run_load

    console = Console(highlight=False)
    if not console.is_terminal:  # a pipe or a file: do not squeeze the table into 80 columns
        console = Console(highlight=False, width=max(console.width, 130))
    try:
        if quiet or not console.is_terminal:
            if not quiet:
                console.print(f"{config.label}: {_load(config)}…")
            result = run_load(config, on_progress)
        else:
            label, plan = config.label, config.plan
            open_model = plan is not None and plan.model == "rate"  # --rate, or a timed replay
            with LiveProgress(console, config.time_limit_s, label, open_model) as live:

                def show(sample: Progress) -> None:
                    live.update(sample)
                    if on_progress is not None:
                        on_progress(sample)

                result = run_load(config, show)
    except LoadTestError as error:
        raise click.ClickException(str(error)) from error
    if quiet:
        for line, slo in zip(slo_lines(result.slo_results), result.slo_results, strict=True):
            if not slo.passed:
                console.print(line)
    else:
        print_results(console, result.summary, result.slo_results)
    console.print(f"report: {result.out_dir}")
    return result


def _load(config: RunConfig) -> str:
    plan, load, closed = config.plan, config.load, config.closed_load
    if isinstance(load, ReplayLoad):
        pace = "as fast as answered" if load.speed is None else f"x{load.speed:g}"
        return f"{len(load.trace.requests)} recorded requests of {load.trace.source}, {pace}"
    if plan is not None:
        return plan.describe()
    if closed is not None:
        return f"{closed.users} users for {closed.duration_s}s"
    limit = config.time_limit_s
    return "the file's load shape" + ("" if limit is None else f" for at most {limit}s")
