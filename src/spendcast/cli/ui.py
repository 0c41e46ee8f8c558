"""``spendcast ui``: Locust's web UI with the kit's exact figures, SLOs, open model and runs."""

from __future__ import annotations

from pathlib import Path

import click

from spendcast.cli.errors import BadInput, exit_codes
from spendcast.cli.options import Options, optional_seconds, user_locustfile, user_options
from spendcast.cli.run_config_errors import in_flags
from spendcast.errors import LoadTestError, RunConfigError
from spendcast.loadtest.run.config import RunConfig, closed_or_file_shape
from spendcast.loadtest.run.distributed import DEFAULT_MASTER_PORT, MasterOptions
from spendcast.loadtest.run.gates import Gates
from spendcast.loadtest.run.generators import generators_of
from spendcast.loadtest.run.load import ClosedLoad
from spendcast.loadtest.run.target import Target
from spendcast.loadtest.run.users import Users
from spendcast.loadtest.shared.slo import Slo

option = Options("ui")


@click.command()
@exit_codes("ui")
@option("--host", default=None,
        help="The form's host: base URL of the API (http://127.0.0.1:8000) [default: typed in "
        "the page].")  # fmt: skip
@option.scenario("The built-in users (as loadtest's): health, predict, batch or mixed; or -f FILE.")
@user_options("ui")
@option.users("The form's number of users (the pool, with a rate).")
@option("--spawn-rate", type=click.FloatRange(min=0, min_open=True), default=None,
        help="The form's ramp up, users started per second [default: the users].")  # fmt: skip
@option("--rate", type=click.FloatRange(min=0), default=None,
        help="The form's arrival rate (iterations/s, changeable while running): the open "
        "model, the users run the iterations due [default: empty, the closed model].")  # fmt: skip
@option("--warmup", default=None, callback=optional_seconds,
        help="Each test's first seconds (10s, 1m): sent, shown in the plots, left out of its "
        "figures and SLOs, live and in its run directory.")  # fmt: skip
@option.slos("An objective each test is checked against, live in the tab and in its "
             "summary.json, repeatable (docs/slo.md): p99<200ms, errors<1%, "
             "dropped==0.")  # fmt: skip
@option("--processes", type=click.IntRange(min=-1), default=None,
        help="Locust worker processes generating the load (-1: one per CPU) [default: one "
        "process].")  # fmt: skip
@option("--web-host", default="127.0.0.1", show_default=True,
        help="Interface of the web UI (0.0.0.0: reachable from other machines).")  # fmt: skip
@option("--web-port", type=click.IntRange(1, 65535), default=8089, show_default=True,
        help="Port of the web UI.")  # fmt: skip
@option.out_dir("Folder of the run directories, one per test started from the page "
                "[default: runs/].")  # fmt: skip
@option("--master", is_flag=True,
        help="Distributed: the page runs Locust's master; workers join with `spendcast "
        "loadtest --worker --master-host H` (the tab shows their merged, exact "
        "figures).")  # fmt: skip
@option("--master-bind-host", default="*", show_default=True,
        help="Master: interface the workers connect to.")  # fmt: skip
@option("--master-bind-port", type=click.IntRange(1, 65534), default=DEFAULT_MASTER_PORT,
        show_default=True, help="Master: TCP port the workers connect to.")  # fmt: skip
@click.pass_context
def ui(
    ctx: click.Context,
    host: str | None,
    scenario: str,
    users: int,
    spawn_rate: float | None,
    rate: float | None,
    warmup: int | None,
    slos: tuple[Slo, ...],
    processes: int | None,
    web_host: str,
    web_port: int,
    out_dir: Path | None,
    master: bool,
    master_bind_host: str,
    master_bind_port: int,
    locustfile: str | None,
    tags: tuple[str, ...],
    exclude_tags: tuple[str, ...],
    user_classes: tuple[str, ...],
) -> None:
    """Locust's web UI, as in the lab, with the kit's figures in a "spendcast" tab.

    Open http://WEB_HOST:WEB_PORT, fill the form (users, ramp up, host, and under "Custom
    parameters" the arrival rate), start. The "spendcast" tab shows live, per endpoint, the
    exact percentiles since the start and since the last reset, each --slo held or breached,
    and under the open model the iterations offered, late and dropped; GET /spendcast/stats
    gives the same as JSON. Every test becomes a run directory when it stops (Stop, a run
    time, Ctrl-C) with summary.json, recording.json, plots and Locust's CSV/HTML, the changes
    of users or rate as stages: `spendcast compare` and `spendcast report` take it.
    """
    if host is not None and not host.startswith(("http://", "https://")):
        raise BadInput(f"--host {host!r} must start with http:// or https://")
    user_file = user_locustfile(ctx, locustfile, user_classes)
    try:
        run_users = Users(scenario, user_file, tags, exclude_tags)
        form = ClosedLoad(users, spawn_rate)
        master_options = MasterOptions(1, master_bind_host, master_bind_port) if master else None
        config = RunConfig(
            Target(host or ""),
            run_users,
            closed_or_file_shape(run_users, form),
            generators_of(processes, master_options),
            Gates(slos),
        )
    except RunConfigError as error:
        raise BadInput(in_flags(error)) from error
    except ValueError as error:
        raise BadInput(str(error)) from error
    from spendcast.loadtest.ui.launch import run_ui

    try:
        code = run_ui(config, form, out_dir or Path("runs"), web_host, web_port, rate, warmup or 0)
    except LoadTestError as error:
        raise BadInput(str(error)) from error
    if code not in (0, -15):  # -15: stopped by our SIGTERM before it could exit cleanly
        raise click.ClickException(f"Locust exited with code {code}")
