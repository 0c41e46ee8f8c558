"""The options of the load-test commands, declared once (``env_options`` derives the names).

``Options("loadtest")`` declares the options of ``spendcast loadtest``: ``--max-step-time``
reads ``SPENDCAST_LOADTEST_MAX_STEP_TIME`` and its help ends with
``Env: SPENDCAST_LOADTEST_MAX_STEP_TIME.``. The options several commands share (``--scenario``,
``--users``, ``--duration``, ``--out``, ...) are methods here, each command giving its own
default and help; Locust's master/worker flags are ``distributed_options``; a user's own
locustfile (``-f``, ``USER_CLASS ...``, ``--tags``, ``--exclude-tags``) is ``user_options`` and
becomes a checked ``UserLocustfile`` through ``user_locustfile``. ``serve`` and ``train`` use
``env_options.EnvOptions``, which loads nothing of the kit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from spendcast.cli.env_options import EnvOptions, F
from spendcast.cli.errors import BadInput
from spendcast.errors import SloSyntaxError
from spendcast.loadtest.run.distributed import (
    DEFAULT_MASTER_PORT,
    DEFAULT_WORKERS_WAIT_S,
    MasterOptions,
)
from spendcast.loadtest.shared.arrival_pattern import DEFAULT_SEED, ArrivalPattern
from spendcast.loadtest.shared.contract import SCENARIO_USERS
from spendcast.loadtest.shared.duration import parse_duration
from spendcast.loadtest.shared.slo import Slo, parse_slo

if TYPE_CHECKING:
    from spendcast.loadtest.run.locustfile import UserLocustfile


def duration_seconds(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """A click callback: ``30s``, ``2m``, ``1h30m`` or seconds, as seconds."""
    try:
        return parse_duration(value)
    except ValueError as error:
        raise click.BadParameter(str(error), ctx, param) from error


def optional_seconds(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    """``duration_seconds``, ``None`` when the option is not given."""
    return None if value is None else duration_seconds(ctx, param, value)


if TYPE_CHECKING:  # click.ParamType is generic from click 8.2 on, a plain class before
    _SloParamType = click.ParamType[Slo]
else:
    _SloParamType = click.ParamType


class SloType(_SloParamType):
    """An SLO expression (``slo.py``); its env var holds several, one per line or ``;``-separated
    (never split on spaces: an endpoint name may hold them)."""

    name = "slo"

    def split_envvar_value(self, rv: str) -> Sequence[str]:
        return [part.strip() for part in re.split(r"[;\n]", rv) if part.strip()]

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Slo:
        if isinstance(value, Slo):
            return value
        try:
            return parse_slo(str(value))
        except SloSyntaxError as error:
            self.fail(str(error), param, ctx)


class Options(EnvOptions):
    """The declarations of a load-test command, with the options the kit's commands share."""

    def scenario(self, help: str) -> Callable[[F], F]:
        return self("--scenario", type=click.Choice(sorted(SCENARIO_USERS)), default="predict",
                    show_default=True, help=help)  # fmt: skip

    def users(self, help: str) -> Callable[[F], F]:
        return self("--users", type=click.IntRange(min=1), default=10, show_default=True,
                    help=help)  # fmt: skip

    def duration(self, default: str, help: str, name: str = "--duration") -> Callable[[F], F]:
        return self(name, default=default, show_default=True, callback=duration_seconds, help=help)

    def out_dir(self, help: str) -> Callable[[F], F]:
        return self("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
                    default=None, help=help)  # fmt: skip

    def ready_path(self, help: str) -> Callable[[F], F]:
        return self("--ready-path", default="/ready", show_default=True, help=help)

    def quiet(self, help: str) -> Callable[[F], F]:
        return self("--quiet", is_flag=True, help=help)

    def slos(self, help: str, **attrs: Any) -> Callable[[F], F]:
        return self("--slo", "slos", type=SloType(), multiple=True, help=help,
                    env_note=" (one per line or separated by ';')", **attrs)  # fmt: skip

    def no_history(self) -> Callable[[F], F]:
        return self("--no-history", "no_history", is_flag=True,
                    help="Do not append this run to the history (spendcast history; the store "
                    "is SPENDCAST_HISTORY_URL, by default runs/history.db).")  # fmt: skip

    def junit(self) -> Callable[[F], F]:
        return self("--junit", "junit_path", type=click.Path(dir_okay=False, path_type=Path),
                    default=None,
                    help="Write the SLO verdicts as JUnit XML to FILE, one test case per SLO. "
                    "With GITHUB_STEP_SUMMARY set, a Markdown summary is also appended to that "
                    "file.")  # fmt: skip


def master_options(command_name: str) -> Callable[[F], F]:
    """Locust's master flags (``--master``, where workers connect, how many), for a command
    that runs its load on ``spendcast loadtest --worker`` processes."""
    option = Options(command_name)
    port = click.IntRange(1, 65534)
    options = [
        option("--master", is_flag=True,
               help="Distributed run: this process runs no user, waits for --expect-workers "
               "workers (spendcast loadtest --worker), merges their exact histograms, writes "
               "the run directory and checks the SLOs."),
        option("--master-bind-host", default="*", show_default=True,
               help="Master: interface the workers connect to."),
        option("--master-bind-port", type=port, default=DEFAULT_MASTER_PORT, show_default=True,
               help="Master: TCP port the workers connect to."),
        option("--expect-workers", type=click.IntRange(min=1), default=1, show_default=True,
               help="Master: workers to wait for before starting (a worker with --processes N "
               "counts N)."),
        option("--expect-workers-max-wait", type=click.IntRange(min=1),
               default=DEFAULT_WORKERS_WAIT_S, show_default=True,
               help="Master: seconds to wait for the workers before failing (exit code 1)."),
    ]  # fmt: skip

    def declare_all(command: F) -> F:
        for declare in reversed(options):
            command = declare(command)
        return command

    return declare_all


def master_of(
    master: bool, bind_host: str, bind_port: int, expect_workers: int, max_wait: int
) -> MasterOptions | None:
    """``master_options``' values as a run's ``MasterOptions`` (``None``: no --master)."""
    return MasterOptions(expect_workers, bind_host, bind_port, max_wait) if master else None


def distributed_options(command: F) -> F:
    """Locust's own flags of ``spendcast loadtest`` for several load-generating machines."""
    option = Options("loadtest")
    port = click.IntRange(1, 65534)
    options = [
        option("--worker", is_flag=True,
               help="Distributed run: only send requests, as the master says; exits with 0 "
               "when the master ends the run."),
        option("--master-host", default="127.0.0.1", show_default=True,
               help="Worker: the master's address."),
        option("--master-port", type=port, default=DEFAULT_MASTER_PORT, show_default=True,
               help="Worker: the master's --master-bind-port."),
        option("--worker-dump", type=click.Path(file_okay=False, path_type=Path), default=None,
               help="Worker: also write all each process recorded to DIR/worker-<id>.json "
               "(recording.json format), to check the merge."),
    ]  # fmt: skip
    for declare in reversed(options):
        command = declare(command)
    return master_options("loadtest")(command)


_SEED = "spendcast.arrival_seed"


def _seed(ctx: click.Context, param: click.Parameter, value: int) -> int:
    ctx.meta[_SEED] = value  # read by _arrival: --seed is eager, parsed first
    return value


def _arrival(ctx: click.Context, param: click.Parameter, value: str) -> ArrivalPattern:
    try:
        return ArrivalPattern.parse(value, ctx.meta.get(_SEED, DEFAULT_SEED))
    except ValueError as error:
        raise click.BadParameter(str(error), ctx, param) from error


def arrival_options(command: F) -> F:
    """``--arrival constant|poisson|gamma:CV`` and its ``--seed``, as one ``ArrivalPattern``."""
    option = Options(command.__name__)
    command = option("--arrival", default="constant", show_default=True, callback=_arrival,
                     help="Open model: how the iterations are spaced. constant: evenly, as the "
                     "server sees them; poisson: exponential gaps (independent arrivals); "
                     "gamma:CV: gaps of that coefficient of variation (above 1: bursts). "
                     "Split across processes and workers without changing the pattern.",
                     )(command)  # fmt: skip
    return option("--seed", type=click.IntRange(min=0), default=DEFAULT_SEED, show_default=True,
                  is_eager=True, expose_value=False, callback=_seed,
                  help="Seed of --arrival's random gaps: two runs with one seed send the same "
                  "pattern.")(command)  # fmt: skip


def _words(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    """``--tags a,b --tags c`` (or ``"a b"`` from the environment) -> ``("a", "b", "c")``."""
    return tuple(word for value in values for word in value.replace(",", " ").split())


def user_options(command: str, *, classes: bool = True) -> Callable[[F], F]:
    """``-f/--locustfile``, ``--tags``, ``--exclude-tags`` and (``classes``) ``[USER_CLASS]...``."""
    option = Options(command)

    def declare(function: F) -> F:
        options = [
            option("-f", "--locustfile", default=None, metavar="PATH",
                   help="Your own locustfile instead of --scenario: a .py file (relative to "
                   "this directory; it imports its neighbours as under plain locust), several "
                   "(a.py,b.py) or a folder of them. Its user classes run (all concrete ones, "
                   "or those named after the options), measured like the built-in ones."),
            option("--tags", multiple=True, callback=_words, env_note=" (space-separated)",
                   help="Run only the tasks with one of these @tag names, repeatable "
                   "(Locust's --tags)."),
            option("--exclude-tags", multiple=True, callback=_words,
                   env_note=" (space-separated)",
                   help="Skip the tasks with one of these @tag names, repeatable "
                   "(Locust's --exclude-tags)."),
        ]  # fmt: skip
        if classes:
            options.append(click.argument("user_classes", nargs=-1, metavar="[USER_CLASS]..."))
        for add in reversed(options):
            function = add(function)
        return function

    return declare


def user_locustfile(
    ctx: click.Context, locustfile: str | None, user_classes: tuple[str, ...]
) -> UserLocustfile | None:
    """The checked ``-f`` locustfile (``None``: a built-in scenario); bad input: exit 2."""
    from spendcast.errors import LocustfileError
    from spendcast.loadtest.run.locustfile import inspect_locustfile

    if locustfile is None:
        if options := [word for word in user_classes if word.startswith("-")]:
            raise BadInput(f"No such option: {options[0]}")
        if user_classes:
            raise BadInput(f"user class {' '.join(user_classes)} needs -f/--locustfile "
                           "(built-in scenarios: --scenario)")  # fmt: skip
        return None
    if ctx.get_parameter_source("scenario") not in (None, ParameterSource.DEFAULT):
        raise BadInput("--scenario and -f/--locustfile exclude each other")
    try:
        return inspect_locustfile(locustfile, user_classes)
    except LocustfileError as error:
        raise BadInput(str(error)) from error


# Locust's option dest -> the kit's parameter that does the same (``locust_config``).
LOCUST_SETTINGS = {
    "host": "host",
    "num_users": "users",
    "spawn_rate": "spawn_rate",
    "run_time": "duration",
    "tags": "tags",
    "exclude_tags": "exclude_tags",
    "processes": "processes",
}
# Locust's options the kit sets itself (the run directory's files, headless, one master).
KIT_OWNED = {
    "csv_prefix": "--csv", "html_file": "--html", "json_file": "--json-file",
    "web_port": "--web-port", "web_host": "--web-host", "autostart": "--autostart",
    "master": "--master", "worker": "--worker", "master_host": "--master-host",
}  # fmt: skip


def locust_config(ctx: click.Context, user_file: UserLocustfile | None) -> dict[str, Any]:
    """What the user's Locust configuration (``locust.conf``, ``pyproject.toml``, ``--config``,
    ``LOCUST_*``, Locust's options after ``-f``) sets for a parameter of the command left at
    its default, by parameter name, as plain ``locust`` would honour it. A setting the kit
    cannot honour (it writes its own files, runs headless) is told in one line on stderr."""
    if user_file is None:
        return {}
    for flag in (word.partition("=")[0] for word in user_file.args):
        if flag in KIT_OWNED.values():
            raise BadInput(f"{flag} is spendcast's own (it runs Locust headless and writes the "
                           "run directory): see spendcast loadtest --help")  # fmt: skip
    given: dict[str, Any] = {}
    for dest, value in user_file.settings.items():
        param = LOCUST_SETTINGS.get(dest)
        if param is None or param not in ctx.params or value in (None, [], ""):
            continue
        if ctx.get_parameter_source(param) in (None, ParameterSource.DEFAULT):
            given[param] = tuple(value) if isinstance(value, list) else value
    owned = [flag for dest, flag in KIT_OWNED.items() if user_file.settings.get(dest)]
    if owned:
        click.echo(f"note: {', '.join(owned)} from your Locust configuration not honoured: "
                   "spendcast runs Locust headless and writes its run directory",
                   err=True)  # fmt: skip
    return given
