"""``spendcast loadtest``: one headless Locust run, exact percentiles, SLO gates as exit code."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from spendcast.cli.errors import BadInput, SloFailed, exit_codes
from spendcast.cli.options import (
    Options,
    arrival_options,
    distributed_options,
    duration_seconds,
    locust_config,
    optional_seconds,
    user_locustfile,
    user_options,
)
from spendcast.errors import LoadTestError
from spendcast.loadtest.progress import Progress
from spendcast.loadtest.run.abort import DEFAULT_GRACE_S
from spendcast.loadtest.run.arrival_pattern import ArrivalPattern
from spendcast.loadtest.run.config import RunConfig
from spendcast.loadtest.run.distributed import MasterOptions, WorkerConfig
from spendcast.loadtest.run.load_plan import DEFAULT_MAX_USERS, Stage, parse_stages
from spendcast.loadtest.run.replay import ReplayError, Trace, load_trace, parse_moment, parse_speed
from spendcast.loadtest.run.result import RunResult
from spendcast.loadtest.run.slo import Slo, SloResult

# What a --worker honours; every other option and USER_CLASS is the master's (_refuse_...).
WORKER_FLAGS = ("master-host", "master-port", "processes", "worker-dump", "think-time")
WORKER_OPTIONS = frozenset({"worker", "locustfile", *(o.replace("-", "_") for o in WORKER_FLAGS)})
option = Options("loadtest")


class LocustExit(click.ClickException):
    """Locust ended with a non-zero code, the locustfile's own verdict: the run's exit code."""

    def __init__(self, code: int) -> None:
        super().__init__(
            f"Locust exited with code {code} (the locustfile's environment.process_exit_code, "
            "or an error in it: see locust.log)"
        )
        self.exit_code = code  # type: ignore[misc]  # click declares it a ClassVar; per run here


def _stages(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[Stage, ...]:
    try:
        return parse_stages(value) if value else ()
    except ValueError as error:
        raise click.BadParameter(str(error), ctx, param) from error


def _speed(ctx: click.Context, param: click.Parameter, value: str) -> float | None:
    try:
        return parse_speed(value)
    except ValueError as error:
        raise BadInput(f"--speed: {error}") from error


def _moment(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    try:
        return None if value is None else parse_moment(value)
    except ValueError as error:
        raise BadInput(f"--{param.name}: {error}") from error


def _trace(ctx: click.Context, source: str | None, since: Any, until: Any) -> Trace | None:
    """``--replay``'s trace, read now: a bad source is one line and exit 2, before any run."""
    if source is None:
        unset = (None, ParameterSource.DEFAULT)
        extra = [n for n in ("since", "until", "speed") if ctx.get_parameter_source(n) not in unset]
        if extra:
            raise BadInput(f"--{extra[0]} goes with --replay SOURCE")
        return None
    if since is not None and until is not None and since >= until:
        raise BadInput("--since must come before --until")
    try:
        return load_trace(source, since, until)
    except ReplayError as error:
        raise BadInput(str(error)) from error


def _check_load_plan(ctx: click.Context, rate: float | None, stages: tuple[Stage, ...]) -> None:
    """The closed model's options and the load plan's exclude each other (one line, exit 2)."""
    given = {
        name for name in ("users", "spawn_rate", "duration", "max_users")
        if ctx.get_parameter_source(name) not in (None, click.core.ParameterSource.DEFAULT)
    }  # fmt: skip
    if stages and "duration" in given:
        raise click.UsageError("--stages set the duration (their total): drop --duration")
    if (rate is not None or stages) and given & {"users", "spawn_rate"}:
        what = "the pool is sized from the rate" if rate is not None else "--stages set the users"
        raise click.UsageError(f"--users and --spawn-rate are the closed model's: {what}")
    if rate is None and "max_users" in given:
        raise click.UsageError("--max-users bounds the open model's pool: use it with --rate")


@click.command(context_settings={"ignore_unknown_options": True})
@exit_codes("loadtest")
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
    "--rate",
    type=click.FloatRange(min=0),
    default=None,
    help="Open model: start R task iterations per second, whatever the answers take (k6's "
    "constant-arrival-rate); latency counts from each iteration's intended start. With "
    "--stages: the rate they ramp from (--rate 0 --stages ...: from 0).",
)
@option(
    "--stages",
    default=None,
    callback=_stages,
    help="Stages DURATION:TARGET,... each ramping linearly from the previous target: "
    "iterations/s with --rate (30s:50,2m:200,30s:0), users otherwise (1m:10,2m:50). The run "
    "lasts their total; figures per stage in summary.json and the table.",
)
@option(
    "--max-users",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_USERS,
    show_default=True,
    help="Open model: users at most in the pool (sized from the rate and the longest answers). "
    "An iteration due while every user is busy is dropped: not sent, counted (SLO dropped<1).",
)
@arrival_options
@option(
    "--replay",
    "replay_source",
    default=None,
    metavar="SOURCE",
    help="Send recorded traffic again, at its recorded times: the API's inference log (a "
    "SQLite file, or a database URL such as postgresql+psycopg://...) or its access log file. "
    "Latency counts from each request's recorded time, as under --rate (docs/loadtest.md).",
)
@option(
    "--speed",
    default="1",
    show_default=True,
    callback=_speed,
    help="With --replay: 2 sends the trace twice as fast, 0.5 at half speed; max as fast as "
    "--users users get answers (the closed model, one process).",
)
@option(
    "--since",
    default=None,
    callback=_moment,
    help="With --replay: only requests recorded at or after this time (ISO 8601; UTC if no "
    "offset).",
)
@option(
    "--until",
    default=None,
    callback=_moment,
    help="With --replay: only requests recorded before this time (ISO 8601; UTC if no offset).",
)
@option(
    "--warmup",
    default=None,
    callback=optional_seconds,
    help="Send load for this long first, then measure: the warm-up's requests show in the "
    "plots (shaded) and are left out of every figure, SLO and verdict.",
)
@option(
    "--slice",
    "slice_s",
    default=None,
    callback=optional_seconds,
    help="Figures per time slice of this length (10s, 1m) in summary.json, the report and "
    "--slices, with a drift line when p99 moves between the first and last slice.",
)
@option(
    "--processes",
    type=click.IntRange(min=-1),
    default=None,
    help="Locust worker processes generating the load (-1: one per CPU) [default: one process].",
)
@option.slos(
    "An objective the run must hold, repeatable, in the kit's words or k6's (docs/slo.md): "
    "p95<50ms or p(95)<50, p99.9<1s, max<2000, errors<0.1% or rate<0.001, rps>=500, "
    "dropped==0, 'POST /predict:p99<=200ms'. Exit code 3 when one fails."
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
@option(
    "--abort-on-fail",
    is_flag=True,
    help="End the run as soon as an SLO is broken beyond recovery (max, failures, "
    "dropped), or is broken --abort-grace or more into the run (percentiles, rates); the "
    "run directory is written (summary.json: aborted) and the exit code is 3.",
)
@option(
    "--abort-grace",
    default=f"{DEFAULT_GRACE_S}s",
    show_default=True,
    callback=duration_seconds,
    help="With --abort-on-fail: how long percentile, mean, rate and rps SLOs may be broken "
    "before the run is aborted (k6's delayAbortEval).",
)
@option.junit()
@option.no_history()
@option(
    "--compare-baseline",
    is_flag=True,
    help="After the run, compare it with the blessed baseline of its comparability key "
    "(spendcast history bless), as compare --against-baseline; exit code 3 when slower.",
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
    rate: float | None,
    stages: tuple[Stage, ...],
    max_users: int,
    arrival: ArrivalPattern,
    replay_source: str | None,
    speed: float | None,
    since: Any,
    until: Any,
    warmup: int | None,
    slice_s: int | None,
    processes: int | None,
    slos: tuple[Slo, ...],
    think_time: str | None,
    out_dir: Path | None,
    quiet: bool,
    prometheus_port: int | None,
    prometheus_host: str,
    jsonl_path: Path | None,
    abort_on_fail: bool,
    abort_grace: int,
    junit_path: Path | None,
    no_history: bool,
    compare_baseline: bool,
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
    percentiles per request name, SLOs, run directory and reports, in this directory as plain
    locust does (its data files, locust.conf, LOCUST_* variables); the file's own options and
    Locust's pass through, by name or after `--` (docs/loadtest.md).

    Authentication comes from the environment: SPENDCAST_API_TOKEN (sent as the
    spendcast_token cookie) or SPENDCAST_COOKIE (a raw Cookie header, e.g. for an API behind a
    proxy). The run directory holds summary.json, the HDR histograms (recording.json),
    Locust's CSV and HTML report, and PNG charts.

    Open model: --rate R starts R task iterations per second on a timetable, latency counted
    from each one's intended start (free of coordinated omission); --stages ramps it (or, alone,
    the users). See docs/capacity.md.

    Several machines: one `--master --expect-workers N` (it writes the run directory and
    checks the SLOs) and N `--worker --master-host H` (they need no --host; each worker's
    exact histograms are merged on the master). With -f, give every worker the master's
    file: the master checks its sha256 (exit code 1 when it differs).
    """
    if worker:
        _refuse_master_options(ctx)
        user_file = user_locustfile(ctx, locustfile, user_classes)
        _work(WorkerConfig(master_host, master_port, processes, worker_dump, think_time,
                           user_file=user_file))  # fmt: skip
        return
    _check_load_plan(ctx, rate, stages)
    trace = _trace(ctx, replay_source, since, until)
    user_file = user_locustfile(ctx, locustfile, user_classes)
    given = locust_config(ctx, user_file)  # locust.conf, LOCUST_*, Locust's options after -f
    host = given.get("host", host)
    users, spawn_rate = given.get("users", users), given.get("spawn_rate", spawn_rate)
    duration, processes = given.get("duration", duration), given.get("processes", processes)
    tags, exclude_tags = given.get("tags", tags), given.get("exclude_tags", exclude_tags)
    if user_file and user_file.shapes and rate is None and not stages:
        _tell_shape_sets_users(ctx, given, user_file.shapes[0])
    own_host = user_file.own_host if user_file is not None and not host else None
    if not host and not own_host:
        raise click.UsageError("Missing option '--host' (only a --worker needs none).")
    duration_given = "duration" in given or ctx.get_parameter_source("duration") not in (
        None, ParameterSource.DEFAULT
    )  # fmt: skip
    try:
        config = RunConfig(
            host=host or own_host or "",
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
            abort_on_fail=abort_on_fail,
            abort_grace_s=abort_grace,
            rate=rate,
            stages=stages,
            max_users=max_users,
            arrival=arrival,
            warmup_s=warmup or 0,
            slice_s=slice_s,
            user_file=user_file,
            tags=tags,
            exclude_tags=exclude_tags,
            pass_host=own_host is None,
            bounded=duration_given,
            replay=trace,
            replay_speed=speed,
        )
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    from spendcast.loadtest.diagnosis.joined import attach_run_diagnosis
    from spendcast.loadtest.diagnosis.watcher import Watcher, find_server
    from spendcast.loadtest.run.live_export import LiveExports

    with (
        LiveExports(config, prometheus_port, prometheus_host, jsonl_path) as exports,
        Watcher(find_server(config.host)) as watcher,
    ):
        result = execute(config, quiet=quiet, on_progress=exports.update)
    if (diagnosis := attach_run_diagnosis(result, watcher)) is not None:
        from rich.console import Console

        from spendcast.loadtest.diagnosis.display import diagnosis_view

        Console(highlight=False, width=130).print(diagnosis_view(diagnosis))
    ci_reports(result.summary, result.slo_results, junit_path, f"spendcast loadtest {config.label}")
    from spendcast.cli.baseline import check_baseline
    from spendcast.cli.history import remember

    remember(result.out_dir, "loadtest", not no_history, quiet=quiet)
    slower = check_baseline(result.out_dir) if compare_baseline else None
    if result.abort is not None:
        raise SloFailed(result.abort.describe())
    if not result.passed:
        failed = sum(not r.passed for r in result.slo_results)
        raise SloFailed(f"{failed} of {len(result.slo_results)} SLOs failed")
    if slower is not None:
        raise SloFailed(slower)
    if result.locust_exit_code:  # the file's own gate (environment.process_exit_code)
        raise LocustExit(result.locust_exit_code)


def _tell_shape_sets_users(ctx: click.Context, given: Mapping[str, Any], shape: str) -> None:
    """One line when --users/--spawn-rate are given while the file's load shape sets them."""
    ignored = [
        f"--{name.replace('_', '-')}" for name in ("users", "spawn_rate")
        if name in given or ctx.get_parameter_source(name) not in (None, ParameterSource.DEFAULT)
    ]  # fmt: skip
    if ignored:
        click.echo(f"note: {' and '.join(ignored)} ignored: the file's load shape {shape} "
                   "sets the users, as under plain locust", err=True)  # fmt: skip


def _refuse_master_options(ctx: click.Context) -> None:
    """A ``--worker`` takes only ``WORKER_OPTIONS``: the master sends the rest (host, scenario
    or user classes, load, tags) or keeps it (SLOs, run directory, exports); one line, exit 2."""
    if ctx.params["master"]:
        raise BadInput("--worker and --master exclude each other")
    given = []
    for param in ctx.command.params:
        source = ctx.get_parameter_source(param.name or "")
        if param.name in WORKER_OPTIONS or source in (None, ParameterSource.DEFAULT):
            continue
        if isinstance(param, click.Argument):
            if ctx.params[param.name or ""]:
                given.append("USER_CLASS " + " ".join(ctx.params[param.name or ""]))
            continue
        name = max(param.opts, key=len)
        env = getattr(param, "envvar", None)
        given.append(f"{name} ({env})" if source == ParameterSource.ENVIRONMENT else name)
    if given:
        verb = "belongs" if len(given) == 1 else "belong"
        raise BadInput(f"{', '.join(given)} {verb} to the master, not a --worker (a worker "
                       f"takes only {', '.join(f'--{o}' for o in WORKER_FLAGS)} and "
                       "-f/--locustfile)")  # fmt: skip


def ci_reports(
    summary: Mapping[str, Any],
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
            with LiveProgress(console, config.duration_s, label, open_model) as live:

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
    plan, trace = config.plan, config.replay
    if trace is not None:
        pace = "as fast as answered" if config.replay_speed is None else f"x{config.replay_speed:g}"
        return f"{len(trace.requests)} recorded requests of {trace.source}, {pace}"
    if plan is None:
        return f"{config.users} users for {config.duration_s}s"
    return plan.describe()


def _work(config: WorkerConfig) -> None:
    from spendcast.loadtest.run.distributed import run_worker

    code = run_worker(config)
    if code != 0:
        raise click.ClickException(f"the Locust worker exited with code {code}")
