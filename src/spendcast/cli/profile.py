"""``spendcast profile``: load the API while py-spy samples it; where the time goes."""

from __future__ import annotations

from pathlib import Path

import click

from spendcast.cli.errors import exit_codes
from spendcast.cli.options import Options, user_locustfile, user_options
from spendcast.errors import LoadTestError
from spendcast.loadtest.run.config import RunConfig, closed_or_file_shape
from spendcast.loadtest.run.load import ClosedLoad
from spendcast.loadtest.run.output import Output
from spendcast.loadtest.run.target import Target
from spendcast.loadtest.run.users import Users
from spendcast.loadtest.shared.run_files import default_out_dir

option = Options("profile")


@click.command()
@exit_codes("profile")
@option(
    "--pid",
    type=click.IntRange(min=1),
    default=None,
    help="Profile this running server process (and its worker processes); give --host too.",
)
@option(
    "--server-cmd",
    default=None,
    help="Or start this server command ({port} replaced by a free port), profile it, "
    "stop it, e.g. 'uvicorn examples.lab_baseline.app:app --port {port}'.",
)
@option("--host", default=None, help="Base URL of the server given by --pid.")
@option.scenario("The load sent while sampling.")
@user_options("profile")
@option.users("Concurrent users.")
@option.duration("20s", "How long to load and sample.")
@option(
    "--rate",
    type=click.IntRange(1, 1000),
    default=100,
    show_default=True,
    help="py-spy samples per second.",
)
@option(
    "--top",
    type=click.IntRange(min=1),
    default=15,
    show_default=True,
    help="Functions listed by own and by total time.",
)
@option.ready_path("Path that answers 2xx once --server-cmd is ready.")
@option.out_dir("Run directory [default: runs/<UTC timestamp>-profile/].")
@click.pass_context
def profile(
    ctx: click.Context,
    pid: int | None,
    server_cmd: str | None,
    host: str | None,
    scenario: str,
    users: int,
    duration: int,
    rate: int,
    top: int,
    ready_path: str,
    out_dir: Path | None,
    locustfile: str | None,
    tags: tuple[str, ...],
    exclude_tags: tuple[str, ...],
    user_classes: tuple[str, ...],
) -> None:
    """Sample the server with py-spy under load: a flame graph and its top functions.

    Writes flamegraph.svg, profile.speedscope.json (open at https://www.speedscope.app),
    profile.json and a self-contained index.html next to the load test's own files, and prints
    the functions with the most samples by own time (the CPU spent in them) and by total time
    (with what they call). -f FILE [USER_CLASS]... loads it with your own locustfile.
    py-spy needs ptrace rights: root, or --cap-add SYS_PTRACE in Docker.
    """
    from rich.console import Console

    from spendcast.errors import ProfileError, ServerStartError
    from spendcast.loadtest.profile.runner import ProfileResult, profile_load
    from spendcast.loadtest.report.html import write_report
    from spendcast.loadtest.run.server_process import started_server

    if (pid is None) == (server_cmd is None):
        raise click.UsageError("give either --pid (with --host) or --server-cmd")
    if pid is not None and host is None:
        raise click.UsageError("--pid needs --host, the server's base URL")
    user_file = user_locustfile(ctx, locustfile, user_classes)
    out = (out_dir or default_out_dir("profile")).resolve()
    out.mkdir(parents=True, exist_ok=True)
    console = Console(highlight=False, width=max(Console().width, 120))

    def run(target_host: str, target_pid: int, label: str) -> ProfileResult:
        run_users = Users(scenario, user_file, tags, exclude_tags)
        load = closed_or_file_shape(run_users, ClosedLoad(users, duration_s=duration))
        config = RunConfig(Target(target_host), run_users, load, output=Output(out))
        console.print(f"profiling {label} (pid {target_pid}): {users} users for {duration}s…")
        return profile_load(config, target_pid, target=label, rate=rate, top=top)

    try:
        if server_cmd is not None:
            with (
                (out / "server.log").open("wb") as log,
                started_server(server_cmd, ready_path=ready_path, output=log) as server,
            ):
                result = run(server.url, server.process.pid, server_cmd)
        else:
            assert pid is not None
            assert host is not None
            result = run(host, pid, f"pid {pid} at {host}")
    except (ProfileError, LoadTestError, ServerStartError) as error:
        raise click.ClickException(str(error)) from error
    except FileNotFoundError as error:
        raise click.UsageError(f"cannot start the server: {error}") from error
    _print(console, result.data)
    page = write_report([result.out_dir], result.out_dir / "index.html")
    console.print(f"flame graph: {result.out_dir / result.data['files']['flamegraph']}")
    console.print(f"report: {page}")


def _print(console: object, data: dict[str, object]) -> None:
    from rich.console import Console
    from rich.table import Table

    assert isinstance(console, Console)
    views = (
        ("top_own", "Top functions by own time (the CPU spent in the function itself)"),
        ("top_total", "Top functions by total time (with what they call; wrappers left out)"),
        ("top_application", "The application's own functions by total time"),
    )
    for key, title in views:
        table = Table(title=f"{title}: {data['samples']:,} samples")
        for header in ("function", "file", "samples", "share"):
            table.add_column(header, justify="left" if header in ("function", "file") else "right")
        rows = data[key]
        assert isinstance(rows, list)
        for row in rows:
            table.add_row(row["function"], row["file"], f"{row['samples']:,}",
                          f"{row['percent']:.1f} %")  # fmt: skip
        console.print(table)
    packages = data["top_packages"]
    assert isinstance(packages, list)
    console.print("own time by package: " + ", ".join(
        f"{p['package']} {p['percent']:.0f} %" for p in packages[:6]))  # fmt: skip
