"""``spendcast capacity``: step the load up until the SLO breaks; the highest load that holds."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from spendcast.cli.errors import BadInput, SloFailed, exit_codes
from spendcast.cli.options import (
    Options,
    master_of,
    master_options,
    user_locustfile,
    user_options,
)
from spendcast.cli.run_display import ci_reports
from spendcast.errors import LoadTestError
from spendcast.loadtest.capacity.result import CapacityResult
from spendcast.loadtest.run.config import RunConfig
from spendcast.loadtest.run.generators import generators_of
from spendcast.loadtest.run.output import Output
from spendcast.loadtest.run.target import Target
from spendcast.loadtest.run.users import Users
from spendcast.loadtest.shared.search import MODES, SearchPlan, parse_growth
from spendcast.loadtest.shared.slo import Slo, SloResult

DEFAULT_SLOS = ("p99<100ms", "errors<1%")
option = Options("capacity")


def _growth(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        parse_growth(value)
    except ValueError as error:
        raise click.BadParameter(str(error), ctx, param) from error
    return value


def _slos(ctx: click.Context, param: click.Parameter, values: tuple[Slo, ...]) -> tuple[str, ...]:
    return tuple(slo.expression for slo in values) or DEFAULT_SLOS


def _verdicts(result: CapacityResult) -> tuple[SloResult, ...]:
    """The SLOs at the answer: the best step that held them, else the first step, broken."""
    step = result.best or (result.steps[0] if result.steps else None)
    if step is None:
        return ()
    return step.figures.slos


@click.command()
@exit_codes("capacity")
@option("--host", default=None, help="Base URL of the API (http://127.0.0.1:8000).")
@option(
    "--mode",
    type=click.Choice(MODES),
    default="users",
    show_default=True,
    help="users: step concurrent users (closed model, Locust's own); rate: step the "
    "arrival rate in requests/s (open model: latency counted from each request's "
    "intended start, so queueing cannot hide).",
)
@option.scenario("What each request does (see spendcast loadtest).")
@user_options("capacity")
@option(
    "--start",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="First step's load: users, or task iterations/s in rate mode (a built-in scenario's "
    "iteration is one request) [default: 1 user, 10 iterations/s].",
)
@option(
    "--growth",
    default="x2",
    show_default=True,
    callback=_growth,
    help="How the load grows from step to step: x2 (multiply) or +10 (add).",
)
@option.slos(
    "An objective every step must hold, repeatable, over all requests: p99<100ms or "
    "p(99)<100, max<1s, errors<1% or rate<0.01 (docs/slo.md) [default: p99<100ms, errors<1%].",
    callback=_slos,
)
@option.duration("2s", "Length of the windows a step is measured in.", name="--window")
@option.duration(
    "1s",
    "Each step's first seconds, sent at the step's load but left out of its windows, its "
    "figures and its verdict (the load settles: new users connect, queues fill or drain).",
    name="--warmup",
)
@option(
    "--stable-windows",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Consecutive windows that must agree before a step is decided.",
)
@option(
    "--tolerance",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.10,
    show_default=True,
    help="Agreement of those windows: throughput within this fraction of their mean, "
    "the SLO percentile within twice it.",
)
@option.duration(
    "30s", "A step that never settles is decided after this long.", name="--max-step-time"
)
@option(
    "--max-steps",
    type=click.IntRange(min=1),
    default=12,
    show_default=True,
    help="Growing steps at most.",
)
@option(
    "--bisect",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="Extra steps halving the gap between the last load that held and the first "
    "that broke (0: none).",
)
@option(
    "--max-users",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Users at most (rate mode sizes its pool from the rate and the latency SLO).",
)
@option(
    "--server-pid",
    type=click.IntRange(min=1),
    default=None,
    help="Watch this server process (and its workers) for the diagnosis [default: the "
    "processes listening on --host's port when local, else its /metrics].",
)
@option(
    "--server-cmd",
    default=None,
    help="Start this server command ({port} replaced by a free port; --host then optional), "
    "search and diagnose it, stop it.",
)
@option.ready_path("Path that answers 2xx once --server-cmd is ready.")
@option(
    "--server-metrics",
    default=None,
    help="Read the server's CPU, memory and fds from this Prometheus URL (process_* metrics) "
    "instead of its processes.",
)
@option(
    "--knee-sample",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Seconds to hold the knee's load after the search while py-spy samples a local "
    "Python server (0: no sampling).",
)
@option.out_dir("Run directory [default: runs/<UTC timestamp>-capacity-<mode>/].")
@option.quiet("No live view and no table: the answer and the run directory only.")
@option.junit()
@option.no_history()
@master_options("capacity")
@click.pass_context
def capacity(
    ctx: click.Context,
    host: str | None,
    mode: str,
    scenario: str,
    start: float | None,
    growth: str,
    slos: tuple[str, ...],
    window: int,
    warmup: int,
    stable_windows: int,
    tolerance: float,
    max_step_time: int,
    max_steps: int,
    bisect: int,
    max_users: int,
    server_pid: int | None,
    server_cmd: str | None,
    ready_path: str,
    server_metrics: str | None,
    knee_sample: int,
    out_dir: Path | None,
    quiet: bool,
    junit_path: Path | None,
    no_history: bool,
    master: bool,
    master_bind_host: str,
    master_bind_port: int,
    expect_workers: int,
    expect_workers_max_wait: int,
    locustfile: str | None,
    tags: tuple[str, ...],
    exclude_tags: tuple[str, ...],
    user_classes: tuple[str, ...],
) -> None:
    """Find the highest load the API holds within its SLOs.

    Each step runs until stable (or --max-step-time); the search stops at the first step that
    breaks an SLO or where throughput stops growing, then bisects. Prints the answer ("holds N
    req/s at p99 X ms with Y users; breaks at ...") and writes capacity.json, charts and a
    self-contained index.html in the run directory. With -f, your own locustfile's users
    are stepped (in either mode). With --master, the users run on `spendcast loadtest
    --worker` processes on other machines (users mode). See docs/capacity.md.

    Every search ends with a diagnosis: the bottleneck (server-cpu, server-waiting,
    load-generator, errors or none), the evidence and what to try, from the server's processes
    (or /metrics), Locust's CPU and a py-spy sample at the knee (docs/diagnosis.md).
    """
    import psutil
    from rich.console import Console

    from spendcast.errors import ServerStartError
    from spendcast.loadtest.capacity.display import CapacityLive, steps_table
    from spendcast.loadtest.capacity.runner import capacity_config, refusal, run_capacity
    from spendcast.loadtest.diagnosis.display import diagnosis_view
    from spendcast.loadtest.diagnosis.watcher import ServerTarget, find_server
    from spendcast.loadtest.report.html import write_report
    from spendcast.loadtest.run.server_process import started_server
    from spendcast.loadtest.shared.contract import STEPS_FILE

    if host is None and server_cmd is None:
        raise click.UsageError("give --host, or --server-cmd to start the server")
    if server_cmd is not None and server_pid is not None:
        raise click.UsageError("give --server-pid or --server-cmd, not both")
    if server_pid is not None and not psutil.pid_exists(server_pid):
        raise BadInput(f"--server-pid {server_pid}: no such process on this machine")
    try:
        plan = SearchPlan(
            mode="rate" if mode == "rate" else "users",
            start=start if start is not None else (1 if mode == "users" else 10),
            growth=growth,
            slos=slos,
            max_steps=max_steps,
            window_s=window,
            warmup_s=warmup,
            stable_windows=stable_windows,
            tolerance=tolerance,
            max_step_s=max_step_time,
            bisect=bisect,
            max_users=max_users,
        )
        users = Users(scenario, None, tags, exclude_tags)
        generators = generators_of(
            None,
            master_of(
                master, master_bind_host, master_bind_port, expect_workers, expect_workers_max_wait
            ),
        )
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    users = replace(users, file=user_locustfile(ctx, locustfile, user_classes))
    reason = refusal(users, plan, generators)
    if reason is not None:
        raise BadInput(reason)
    base = RunConfig(
        Target(host or "http://127.0.0.1"), users, generators=generators, output=Output(out_dir)
    )
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=max(console.width, 140))
    steps_path = capacity_config(base, plan).output.out_dir
    assert steps_path is not None
    base = replace(base, output=Output(steps_path))

    def search(base: RunConfig, server: ServerTarget) -> CapacityResult:
        if quiet or not console.is_terminal:
            if not quiet:
                console.print(f"capacity search ({plan.mode}) against {base.target.host}…")
            return run_capacity(base, plan, server=server, sample_s=knee_sample)
        with CapacityLive(console, plan, steps_path.resolve() / STEPS_FILE) as live:
            return run_capacity(base, plan, live.update, server=server, sample_s=knee_sample)

    try:
        if server_cmd is not None:
            steps_path.mkdir(parents=True, exist_ok=True)
            with (
                (steps_path / "server.log").open("wb") as log,
                started_server(server_cmd, ready_path=ready_path, output=log) as started,
            ):
                base = replace(base, target=Target(started.url))
                server = find_server(started.url, started.process.pid, server_metrics)
                result = search(base, server)
        else:
            assert host is not None
            result = search(base, find_server(host, server_pid, server_metrics))
    except (LoadTestError, ServerStartError) as error:
        raise click.ClickException(str(error)) from error
    except FileNotFoundError as error:
        raise click.UsageError(f"cannot start the server: {error}") from error
    page = write_report([result.out_dir], result.out_dir / "index.html")
    if not quiet:
        console.print(steps_table(plan, result.steps))
    console.print(result.answer(), style="bold")
    if result.diagnosis is not None:
        console.print(diagnosis_view(result.diagnosis))
    console.print(f"report: {page}")
    ci_reports(result.run.summary, _verdicts(result), junit_path, f"spendcast capacity {mode}",
               note=result.answer())  # fmt: skip
    from spendcast.cli.history import remember

    remember(result.out_dir, "capacity", not no_history, quiet=quiet)
    if not result.found:
        raise SloFailed("no step held the SLO: start lower (--start)")
