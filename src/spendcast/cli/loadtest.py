"""``spendcast loadtest``: one headless Locust run, exact percentiles, SLO gates as exit code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from spendcast.cli.errors import SloFailed, exit_codes
from spendcast.cli.loadtest_options import (
    PlanOptions,
    check_load_plan,
    load_of,
    moment_option,
    speed_option,
    stages_option,
    tell_shape_sets_users,
    trace_of,
)
from spendcast.cli.loadtest_worker import refuse_master_options, work
from spendcast.cli.options import (
    Options,
    arrival_options,
    distributed_options,
    duration_seconds,
    locust_config,
    master_of,
    optional_seconds,
    user_locustfile,
    user_options,
)
from spendcast.cli.run_config_errors import in_flags
from spendcast.cli.run_display import LocustExit, ci_reports, execute
from spendcast.errors import RunConfigError
from spendcast.loadtest.run.config import RunConfig
from spendcast.loadtest.run.distributed import WorkerConfig
from spendcast.loadtest.run.gates import Gates
from spendcast.loadtest.run.generators import generators_of
from spendcast.loadtest.run.load import ClosedLoad
from spendcast.loadtest.run.output import Output, Window
from spendcast.loadtest.run.target import Target
from spendcast.loadtest.run.users import Users
from spendcast.loadtest.shared.abort import DEFAULT_GRACE_S
from spendcast.loadtest.shared.arrival_pattern import ArrivalPattern
from spendcast.loadtest.shared.load_plan import DEFAULT_MAX_USERS, Stage
from spendcast.loadtest.shared.slo import Slo

option = Options("loadtest")


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
    callback=stages_option,
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
    callback=speed_option,
    help="With --replay: 2 sends the trace twice as fast, 0.5 at half speed; max as fast as "
    "--users users get answers (the closed model, one process).",
)
@option(
    "--since",
    default=None,
    callback=moment_option,
    help="With --replay: only requests recorded at or after this time (ISO 8601; UTC if no "
    "offset).",
)
@option(
    "--until",
    default=None,
    callback=moment_option,
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
        refuse_master_options(ctx)
        user_file = user_locustfile(ctx, locustfile, user_classes)
        work(WorkerConfig(master_host, master_port, processes, worker_dump, think_time,
                           user_file=user_file))  # fmt: skip
        return
    check_load_plan(ctx, rate, stages)
    trace = trace_of(ctx, replay_source, since, until)
    user_file = user_locustfile(ctx, locustfile, user_classes)
    given = locust_config(ctx, user_file)  # locust.conf, LOCUST_*, Locust's options after -f
    host = given.get("host", host)
    users, spawn_rate = given.get("users", users), given.get("spawn_rate", spawn_rate)
    duration, processes = given.get("duration", duration), given.get("processes", processes)
    tags, exclude_tags = given.get("tags", tags), given.get("exclude_tags", exclude_tags)
    if user_file and user_file.shapes and rate is None and not stages:
        tell_shape_sets_users(ctx, given, user_file.shapes[0])
    own_host = user_file.own_host if user_file is not None and not host else None
    if not host and not own_host:
        raise click.UsageError("Missing option '--host' (only a --worker needs none).")
    duration_given = "duration" in given or ctx.get_parameter_source("duration") not in (
        None, ParameterSource.DEFAULT
    )  # fmt: skip
    try:
        users_run = Users(scenario, user_file, tags, exclude_tags, think_time)
        closed = ClosedLoad(users, spawn_rate, duration)
        plan = PlanOptions(rate, stages, max_users, arrival)
        master_options = master_of(
            master, master_bind_host, master_bind_port, expect_workers, expect_workers_max_wait
        )
        config = RunConfig(
            target=Target(host or own_host or "", pass_host=own_host is None),
            users=users_run,
            load=load_of(users_run, closed, plan, trace, speed, bounded=duration_given),
            generators=generators_of(processes, master_options),
            gates=Gates(slos, abort_on_fail, abort_grace),
            window=Window(warmup or 0, slice_s),
            output=Output(out_dir),
        )
    except RunConfigError as error:
        raise click.UsageError(in_flags(error)) from error
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    from spendcast.loadtest.diagnosis.joined import attach_run_diagnosis
    from spendcast.loadtest.diagnosis.watcher import Watcher, find_server
    from spendcast.loadtest.run.live_export import LiveExports

    with (
        LiveExports(config, prometheus_port, prometheus_host, jsonl_path) as exports,
        Watcher(find_server(config.target.host)) as watcher,
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
