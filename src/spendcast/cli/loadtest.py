"""``spendcast loadtest``: one headless Locust run, exact percentiles, SLO gates as exit code."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from spendcast.cli.options import Options, distributed_options, user_locustfile, user_options
from spendcast.errors import LoadTestError, SloSyntaxError
from spendcast.loadtest.run.distributed import MasterOptions, WorkerConfig
from spendcast.loadtest.run.runner import Progress, RunConfig, RunResult
from spendcast.loadtest.run.slo import Slo, parse_slo

SLO_EXIT_CODE = 3
option = Options("loadtest")


class SloFailed(click.ClickException):
    """At least one SLO did not hold (exit code 3)."""

    exit_code = SLO_EXIT_CODE


def _slos(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[Slo, ...]:
    try:
        return tuple(parse_slo(value) for value in values)
    except SloSyntaxError as error:
        raise click.BadParameter(str(error), ctx, param) from error


@click.command()
@option(
    "--host",
    help="Base URL of the API, with its path prefix if any (http://127.0.0.1:8000, "
    "https://proxy/some/prefix/); required except with --worker.",
)
@option.scenario(
    "health: GET /health; predict: GET /predict with realistic customers; batch: "
    "POST /predict with 20 customers; mixed: 80/10/10 of those."
)
@user_options("loadtest")
@option.users("Concurrent simulated users.")
@option(
    "--spawn-rate",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Users started per second [default: all in the first second].",
)
@option.duration("30s", "How long to run: 30s, 2m, 1h30m or seconds.")
@option(
    "--processes",
    type=click.IntRange(min=-1),
    default=None,
    help="Locust worker processes generating the load (-1: one per CPU) [default: one process].",
)
@option(
    "--slo",
    "slos",
    multiple=True,
    callback=_slos,
    env_note=" (space-separated)",
    help="An objective the run must hold, repeatable: p95<50ms, p99.9<1s, max<2s, "
    "errors<0.1%, rps>=500, predict:p99<=200ms. Exit code 3 when one fails.",
)
@option(
    "--think-time",
    default=None,
    help="Pause of each user between requests in seconds, 0.1 or a range 0.05-0.2 "
    "[default: 0, closed loop].",
)
@option.out_dir("Run directory [default: runs/<UTC timestamp>-<scenario>/].")
@option.quiet("No live progress and no table: only failed SLOs and the run directory.")
@option(
    "--prometheus-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Serve the live figures (users, rps, failures, exact percentiles per endpoint) on "
    "http://<prometheus-host>:PORT/metrics while the run goes.",
)
@option(
    "--prometheus-host",
    default="127.0.0.1",
    show_default=True,
    help="Interface of --prometheus-port (0.0.0.0 for a Prometheus on another machine).",
)
@option(
    "--jsonl",
    "jsonl_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Append the live figures to FILE, one JSON object per line and per second.",
)
@distributed_options
@click.pass_context
def loadtest(
    ctx: click.Context,
    host: str,
    scenario: str,
    users: int,
    spawn_rate: float | None,
    duration: int,
    processes: int | None,
    slos: tuple[Slo, ...],
    think_time: str | None,
    out_dir: Path | None,
    quiet: bool,
    prometheus_port: int | None,
    prometheus_host: str,
    jsonl_path: Path | None,
    master: bool,
    master_bind_host: str,
    master_bind_port: int,
    expect_workers: int,
    expect_workers_max_wait: int,
    worker: bool,
    master_host: str,
    master_port: int,
    worker_dump: Path | None,
    locustfile: str | None,
    tags: tuple[str, ...],
    exclude_tags: tuple[str, ...],
    user_classes: tuple[str, ...],
) -> None:
    """Load the API headless with Locust and gate the result on SLOs.

    Your own test: `spendcast loadtest -f my_locustfile.py [USER_CLASS]...` runs its users
    (HttpUser, FastHttpUser, any client firing Locust's request event) with the same exact
    percentiles per request name, SLOs, run directory and reports.

    Authentication comes from the environment: SPENDCAST_API_TOKEN (sent as the
    spendcast_token cookie) or SPENDCAST_COOKIE (a raw Cookie header, e.g. for an API behind a
    proxy). The run directory holds summary.json, the HDR histograms (recording.json),
    Locust's CSV and HTML report, and PNG charts.

    Several machines: one `--master --expect-workers N` (it writes the run directory and
    checks the SLOs) and N `--worker --master-host H` (they need no --host; each worker's
    exact histograms are merged on the master). With -f, give every worker the master's
    file: the master checks its sha256 (exit code 1 when it differs).

    Exit codes: 0 every SLO holds, 1 the run failed (host unreachable, Locust crashed, no
    request completed), 2 usage error, 3 an SLO failed.
    """
    if worker:
        if master:
            raise click.UsageError("--worker and --master exclude each other")
        if slos or out_dir or prometheus_port is not None or jsonl_path:
            raise click.UsageError(
                "--slo, --out, --prometheus-port and --jsonl belong to the master, not a --worker"
            )
        user_file = user_locustfile(ctx, locustfile, user_classes)
        _work(WorkerConfig(master_host, master_port, processes, worker_dump, think_time,
                           user_file=user_file))  # fmt: skip
        return
    if not host:
        raise click.UsageError("Missing option '--host' (only a --worker needs none).")
    user_file = user_locustfile(ctx, locustfile, user_classes)
    try:
        config = RunConfig(
            host=host,
            scenario=scenario,
            users=users,
            spawn_rate=spawn_rate,
            duration_s=duration,
            processes=processes,
            slos=slos,
            out_dir=out_dir,
            think_time=think_time,
            master=MasterOptions(
                expect_workers, master_bind_host, master_bind_port, expect_workers_max_wait
            )
            if master
            else None,
            user_file=user_file,
            tags=tags,
            exclude_tags=exclude_tags,
        )
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    from spendcast.loadtest.run.live_export import LiveExports

    with LiveExports(config, prometheus_port, prometheus_host, jsonl_path) as exports:
        result = execute(config, quiet=quiet, on_progress=exports.update)
    if not result.passed:
        failed = sum(not r.passed for r in result.slo_results)
        raise SloFailed(f"{failed} of {len(result.slo_results)} SLOs failed")


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
                console.print(f"{config.label}: {config.users} users for {config.duration_s}s…")
            result = run_load(config, on_progress)
        else:
            with LiveProgress(console, config.duration_s, config.label) as live:

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


def _work(config: WorkerConfig) -> None:
    from spendcast.loadtest.run.distributed import run_worker

    code = run_worker(config)
    if code != 0:
        raise click.ClickException(f"the Locust worker exited with code {code}")
