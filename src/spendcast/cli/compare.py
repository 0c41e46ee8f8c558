"""``spendcast compare``: did the change make it faster? Two runs, or two servers in pairs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from spendcast.cli.errors import BadInput, SloFailed, exit_codes
from spendcast.cli.options import Options, user_locustfile, user_options
from spendcast.cli.run_config_errors import in_flags
from spendcast.errors import LoadTestError, RunConfigError
from spendcast.loadtest.run.config import RunConfig, closed_or_file_shape
from spendcast.loadtest.run.load import ClosedLoad
from spendcast.loadtest.run.target import Target
from spendcast.loadtest.run.users import Users

MIN_PAIRS = 3  # 2 pairs: one degree of freedom, t > 63.7 at p < 0.01 (compare/stats.py)

option = Options("compare")


@click.command()
@exit_codes("compare")
@click.argument("targets", nargs=-1, metavar="[BASELINE_DIR CANDIDATE_DIR | USER_CLASS...]")
@option(
    "--baseline-cmd",
    help="Command serving the baseline, {port} replaced by a free port, e.g. "
    "'uvicorn examples.lab_baseline.app:app --port {port}'.",
)
@option("--candidate-cmd", help="Command serving the candidate, same form.")
@option(
    "--baseline-label",
    default="baseline",
    show_default=True,
    help="Name of the baseline in the report.",
)
@option(
    "--candidate-label",
    default="candidate",
    show_default=True,
    help="Name of the candidate in the report.",
)
@option(
    "--pairs",
    type=click.IntRange(min=MIN_PAIRS),
    default=5,
    show_default=True,
    help="Interleaved pairs of runs (ABBA order); at least 3: with 2, a paired t-test at "
    "p < 0.01 almost never finds a difference.",
)
@option.scenario("The load each run sends (see spendcast loadtest).")
@user_options("compare", classes=False)
@option.users("Concurrent users of each run.")
@option.duration("10s", "Length of each run.")
@option(
    "--warmup",
    default="2s",
    show_default=True,
    help="A run on each server before the pairs, not counted (0 to skip).",
)
@option(
    "--threshold",
    type=click.FloatRange(0, 1),
    default=0.05,
    show_default=True,
    help="Smallest ratio change that counts as a difference (0.05: 5 %).",
)
@option(
    "--fail-if",
    type=click.Choice(["slower", "different"]),
    default=None,
    help="A regression gate, exit code 3: slower when some figure is significantly worse "
    "(verdict slower, or mixed), different on any significant difference.",
)
@option(
    "--against-baseline",
    "against_baseline",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    metavar="RUN_DIR",
    help="Compare the run in RUN_DIR with the blessed baseline of its comparability key "
    "(spendcast history bless), from the history store; implies --fail-if slower.",
)
@option.ready_path("Path that answers 2xx once a server is ready.")
@option.out_dir("Comparison directory [default: runs/<UTC timestamp>-compare/].")
@option.no_history()
@click.pass_context
def compare(
    ctx: click.Context,
    targets: tuple[str, ...],
    baseline_cmd: str | None,
    candidate_cmd: str | None,
    baseline_label: str,
    candidate_label: str,
    pairs: int,
    scenario: str,
    users: int,
    duration: int,
    warmup: str,
    threshold: float,
    fail_if: str | None,
    ready_path: str,
    out_dir: Path | None,
    locustfile: str | None,
    tags: tuple[str, ...],
    exclude_tags: tuple[str, ...],
    against_baseline: Path | None,
    no_history: bool,
) -> None:
    """Compare a baseline and a candidate: faster, slower or no significant difference.

    Either two run directories (BASELINE_DIR CANDIDATE_DIR, e.g. from spendcast loadtest), or
    --baseline-cmd and --candidate-cmd: both servers are started on free ports (from the
    current directory, with this environment; SPENDCAST_API_TOKEN also authenticates the
    load), warmed up, and loaded in turn for --pairs pairs, with --scenario or your own
    locustfile (-f FILE, then the user classes to run as arguments). Writes comparison.json,
    comparison.md, charts and a self-contained index.html.

    Or --against-baseline RUN_DIR: the run compared with the blessed baseline of its
    comparability key in the history (spendcast history), as two run directories are.
    """
    from spendcast.cli.baseline import baseline_comparison, warn_unlike
    from spendcast.cli.comparison import show_comparison
    from spendcast.cli.history import remember
    from spendcast.errors import ServerStartError
    from spendcast.loadtest.compare.pairs import Side, compare_dirs, compare_servers

    out = out_dir or Path("runs") / (datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-compare")
    if against_baseline is not None:
        if targets or baseline_cmd or candidate_cmd:
            raise click.UsageError("--against-baseline takes no other run or server")
        comparison = baseline_comparison(against_baseline, threshold)
        show_comparison(comparison, out)
        remember(out, "compare", not no_history)
        if (failure := comparison.failure(fail_if or "slower")) is not None:
            raise SloFailed(failure)
        return
    commands = (baseline_cmd, candidate_cmd)
    if targets and any(commands) and locustfile is None:
        raise click.UsageError("give two run directories or --baseline-cmd/--candidate-cmd")
    if locustfile is not None and not all(commands):
        raise BadInput("-f/--locustfile needs --baseline-cmd and --candidate-cmd (run "
                       "directories are compared as they were run)")  # fmt: skip
    run_dirs = () if any(commands) else tuple(Path(target) for target in targets)
    for run_dir in run_dirs:
        if not run_dir.is_dir():
            raise BadInput(f"run directory {run_dir} does not exist")
    user_file = user_locustfile(ctx, locustfile, targets if any(commands) else ())
    if not run_dirs and not all(commands):
        raise click.UsageError("give two run directories, or both --baseline-cmd and "
                               "--candidate-cmd")  # fmt: skip
    if run_dirs and len(run_dirs) != 2:
        raise click.UsageError(f"expected two run directories, got {len(run_dirs)}")
    try:
        warmup_s = 0 if warmup.strip() in ("0", "0s") else _duration_value(warmup)
        if run_dirs:
            comparison = compare_dirs(run_dirs[0], run_dirs[1], threshold=threshold)
        else:
            run_users = Users(scenario, user_file, tags, exclude_tags)
            load = closed_or_file_shape(run_users, ClosedLoad(users, duration_s=duration))
            base = RunConfig(Target("http://127.0.0.1"), run_users, load)

            def progress(side: str, pair: int, result: object) -> None:
                if result is None:
                    click.echo(f"pair {pair}/{pairs}: {side}…")

            comparison = compare_servers(
                Side(baseline_label, baseline_cmd), Side(candidate_label, candidate_cmd),
                base, out, pairs=pairs, warmup_s=warmup_s, ready_path=ready_path,
                threshold=threshold, on_run=progress,
            )  # fmt: skip
    except (LoadTestError, ServerStartError) as error:
        raise click.ClickException(str(error)) from error
    except RunConfigError as error:
        raise click.UsageError(in_flags(error)) from error
    except (ValueError, FileNotFoundError) as error:
        raise click.UsageError(str(error)) from error
    show_comparison(comparison, out)
    if run_dirs:
        warn_unlike(*run_dirs)
    remember(out, "compare", not no_history)
    if (failure := comparison.failure(fail_if)) is not None:
        raise SloFailed(failure)


def _duration_value(text: str) -> int:
    from spendcast.loadtest.shared.duration import parse_duration

    return parse_duration(text)
