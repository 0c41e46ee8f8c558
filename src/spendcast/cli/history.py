"""``spendcast history``: every run remembered; list, show, trend, bless, import.

``remember`` is the one call the run commands (``loadtest``, ``capacity``, ``compare``) make
when a run ends: it appends the run to the store, or warns in one line (the run itself still
succeeds). Comparing with a blessed baseline is ``baseline``'s.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from spendcast.cli.errors import BadInput, exit_codes
from spendcast.cli.options import Options
from spendcast.errors import HistoryError
from spendcast.loadtest.history.store import DEFAULT_URL, HISTORY_URL_ENV

if TYPE_CHECKING:
    from spendcast.loadtest.history.record import RunRecord
    from spendcast.loadtest.history.store import HistoryStore

option = Options("history")
list_option, show_option = Options("history_list"), Options("history_show")
trend_option = Options("history_trend")
_AGO = re.compile(r"^(\d+)([dhm])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def remember(run_dir: Path, kind: str, enabled: bool, *, quiet: bool = False) -> None:
    """Append the run that ended in ``run_dir`` to the history (unless ``--no-history``)."""
    if not enabled:
        return
    from spendcast.loadtest.history.append import record_run

    record = record_run(run_dir, kind, warn=lambda line: click.echo(line, err=True))
    if record is not None and not quiet:
        click.echo(f"history: run #{record.id}, key {record.short_key}")


def _open(ctx: click.Context) -> HistoryStore:
    from spendcast.loadtest.history.store import HistoryStore

    try:
        store = HistoryStore(ctx.obj["url"])
    except HistoryError as error:
        raise click.ClickException(str(error)) from error
    ctx.call_on_close(store.close)
    return store


def _since(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``7d``, ``12h``, ``30m`` ago, or a UTC date/time (``2026-12-01``), as a stored stamp."""
    if value is None:
        return None
    if match := _AGO.match(value.strip()):
        when = datetime.now(UTC) - timedelta(**{_UNITS[match[2]]: int(match[1])})
    else:
        try:
            when = datetime.fromisoformat(value.strip()).replace(tzinfo=UTC)
        except ValueError:
            raise click.BadParameter("use 7d, 12h, 30m or a date 2026-12-01[T08:00]") from None
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _run(store: HistoryStore, ident: str) -> RunRecord:
    """A run by its id (``12`` or ``#12``) or its directory (the run it holds now)."""
    from spendcast.loadtest.history.record import document_uid

    try:
        if ident.lstrip("#").isdigit():
            found = store.get(int(ident.lstrip("#")))
        else:
            uid = document_uid(Path(ident))
            matches = [] if uid is None else store.runs(uid=uid)
            found = matches[0] if matches else None
    except HistoryError as error:
        raise click.ClickException(str(error)) from error
    if found is None:
        raise BadInput(f"no run {ident} in the history (spendcast history lists them)")
    return found


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2))


@click.group(invoke_without_command=True)
@exit_codes("history")
@option(
    "--history-url",
    env=HISTORY_URL_ENV,
    default=DEFAULT_URL,
    show_default=True,
    help="The store: a SQLite file, or postgresql+psycopg://USER@HOST/DB shared by a team.",
)
@click.pass_context
def history(ctx: click.Context, history_url: str) -> None:
    """Every run remembered: list them (the default), show one, trend a figure, bless a
    baseline, import run directories.

    Each loadtest, capacity and compare run is appended when it ends (unless --no-history),
    with its figures per endpoint, verdicts, and metadata (command, scenario or locustfile
    hash, load, host, model version, git commit, machine, kit version). Runs are like for like
    when their comparability key is equal (same users, load, warm-up, host and machine).
    """
    ctx.ensure_object(dict)
    ctx.obj["url"] = history_url
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_runs)


@history.command("list")
@list_option("--key", default=None, help="Only runs whose comparability key starts with this.")
@list_option("--scenario", default=None, help="Only runs of this scenario (as listed).")
@list_option("--host", default=None, help="Only runs against this host (as listed).")
@list_option("--kind", type=click.Choice(["loadtest", "capacity", "compare", "ui"]), default=None,
        help="Only runs of this command.")  # fmt: skip
@list_option("--since", default=None, callback=_since,
        help="Only runs started since: 7d, 12h, 30m ago or a UTC date 2026-12-01.")  # fmt: skip
@list_option("--last", type=click.IntRange(min=1), default=20, show_default=True,
        help="The latest N runs that match.")  # fmt: skip
@list_option("--json", "as_json", is_flag=True, help="The runs as JSON (figures included).")
@click.pass_context
def list_runs(
    ctx: click.Context,
    key: str | None = None,
    scenario: str | None = None,
    host: str | None = None,
    kind: str | None = None,
    since: str | None = None,
    last: int = 20,
    as_json: bool = False,
) -> None:
    """The runs, oldest first: id, start, kind, key, scenario, host, commit, total figures."""
    from spendcast.loadtest.history.display import runs_table

    store = _open(ctx)
    try:
        found = store.runs(key=key, scenario=scenario, host=host, kind=kind, since=since,
                           last=last)  # fmt: skip
    except HistoryError as error:
        raise click.ClickException(str(error)) from error
    if as_json:
        _echo_json([run.to_json() for run in found])
        return
    click.echo(runs_table(found) if found else f"no run in {store.where} matches")


@history.command()
@click.argument("run")
@show_option("--json", "as_json", is_flag=True,
             help="The run as JSON, its whole summary included.")  # fmt: skip
@click.pass_context
def show(ctx: click.Context, run: str, as_json: bool) -> None:
    """One run (RUN: its id, or its directory): metadata, key, verdict, figures."""
    from spendcast.loadtest.history.display import run_details

    found = _run(_open(ctx), run)
    click.echo(json.dumps(found.to_json(with_summary=True), indent=2) if as_json
               else run_details(found))  # fmt: skip


@history.command()
@trend_option("--metric", default="p99", show_default=True,
        type=click.Choice(["rps", "requests", "failures", "errors", "p50", "p90", "p95", "p99",
                           "p99.9", "max"]),
        help="The figure to follow.")  # fmt: skip
@trend_option("--endpoint", default="total", show_default=True,
        help="total, an endpoint as listed (GET /predict), capacity (a capacity search's best "
        "step) or candidate (a comparison's).")  # fmt: skip
@trend_option("--key", default=None,
        help="The runs of this key (a prefix) [default: the key of the latest run].")  # fmt: skip
@trend_option("--last", type=click.IntRange(min=2), default=30, show_default=True,
        help="The latest N runs of the key.")  # fmt: skip
@trend_option.out_dir("Where trend.png, trend.json and index.html go [default: runs/trend-<key>/].")
@trend_option("--json", "as_json", is_flag=True, help="The points as JSON instead of a table.")
@click.pass_context
def trend(
    ctx: click.Context,
    metric: str,
    endpoint: str,
    key: str | None,
    last: int,
    out_dir: Path | None,
    as_json: bool,
) -> None:
    """The trend of a figure across like-for-like runs (one key), each run's commit marked:
    a table (or --json), a PNG and an HTML page."""
    from spendcast.loadtest.history.display import trend_table
    from spendcast.loadtest.history.trend import trend_json, trend_points, write_trend

    store = _open(ctx)
    try:
        if key is None:
            latest = store.runs(last=1)
            if not latest:
                raise BadInput(f"no run in {store.where} yet")
            key = latest[0].key
        runs = store.runs(key=key, last=last)
    except HistoryError as error:
        raise click.ClickException(str(error)) from error
    keys = {run.key for run in runs}
    if not runs:
        raise BadInput(f"no run of key {key} in {store.where}")
    if len(keys) > 1:
        raise BadInput(f"key {key} matches {len(keys)} keys: give more of it")
    points = trend_points(runs, metric, endpoint)
    if all(point.value is None for point in points):
        raise BadInput(f"no {endpoint} figure in the runs of key {key[:12]} "
                       "(spendcast history show RUN lists a run's endpoints)")  # fmt: skip
    data = trend_json(points, metric, endpoint, runs)
    page = write_trend(data, out_dir or Path("runs") / f"trend-{runs[-1].short_key}")
    if as_json:
        _echo_json(data)
        return
    click.echo(trend_table(data))
    click.echo(f"report: {page}")


@history.command()
@click.argument("run")
@click.pass_context
def bless(ctx: click.Context, run: str) -> None:
    """Make RUN (its id, or its directory) the baseline of its key: what `compare
    --against-baseline` and `loadtest --compare-baseline` compare new runs with."""
    store = _open(ctx)
    found = _run(store, run)
    assert found.id is not None
    try:
        store.bless(found.id)
    except HistoryError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"run #{found.id} is the baseline of key {found.short_key} "
               f"({found.scenario} on {found.host})")  # fmt: skip


@history.command("import")
@click.argument("run_dirs", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=False, path_type=Path))  # fmt: skip
@click.pass_context
def import_dirs(ctx: click.Context, run_dirs: tuple[Path, ...]) -> None:
    """Append existing run directories (runs/*): load tests, capacity searches,
    comparisons. A directory already stored is skipped; one that holds no run is named."""
    from spendcast.loadtest.history.append import import_run

    store = _open(ctx)
    added = 0
    for run_dir in run_dirs:
        try:
            record, new = import_run(run_dir, store)
        except ValueError as error:
            click.echo(f"skipped {error}", err=True)
            continue
        except HistoryError as error:
            raise click.ClickException(str(error)) from error
        added += new
        state = "imported" if new else "already stored"
        click.echo(f"{state}: run #{record.id} {run_dir} (key {record.short_key})")
    click.echo(f"{added} of {len(run_dirs)} directories imported into {store.where}")
