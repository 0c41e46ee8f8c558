"""What ``spendcast loadtest`` reads and checks in its options before a run: the load plan,
the ``--replay`` trace, a file's load shape (one line and exit 2 when wrong)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import click
from click.core import ParameterSource

from spendcast.cli.errors import BadInput
from spendcast.cli.run_config_errors import FLAG_WORDS
from spendcast.loadtest.run.config import closed_or_file_shape
from spendcast.loadtest.run.config_rules import Rule
from spendcast.loadtest.run.load import ClosedLoad, Load, PlannedLoad, ReplayLoad
from spendcast.loadtest.run.replay import ReplayError, load_trace, parse_moment
from spendcast.loadtest.run.users import Users
from spendcast.loadtest.shared.arrival_pattern import ArrivalPattern
from spendcast.loadtest.shared.load_plan import Stage, parse_stages
from spendcast.loadtest.shared.trace import Trace, parse_speed


def stages_option(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> tuple[Stage, ...]:
    try:
        return parse_stages(value) if value else ()
    except ValueError as error:
        raise click.BadParameter(str(error), ctx, param) from error


def speed_option(ctx: click.Context, param: click.Parameter, value: str) -> float | None:
    try:
        return parse_speed(value)
    except ValueError as error:
        raise BadInput(f"--speed: {error}") from error


def moment_option(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    try:
        return None if value is None else parse_moment(value)
    except ValueError as error:
        raise BadInput(f"--{param.name}: {error}") from error


def trace_of(ctx: click.Context, source: str | None, since: Any, until: Any) -> Trace | None:
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


def check_load_plan(ctx: click.Context, rate: float | None, stages: tuple[Stage, ...]) -> None:
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


def tell_shape_sets_users(ctx: click.Context, given: Mapping[str, Any], shape: str) -> None:
    """One line when --users/--spawn-rate are given while the file's load shape sets them."""
    ignored = [
        f"--{name.replace('_', '-')}" for name in ("users", "spawn_rate")
        if name in given or ctx.get_parameter_source(name) not in (None, ParameterSource.DEFAULT)
    ]  # fmt: skip
    if ignored:
        click.echo(f"note: {' and '.join(ignored)} ignored: the file's load shape {shape} "
                   "sets the users, as under plain locust", err=True)  # fmt: skip


@dataclass(frozen=True)
class PlanOptions:
    """The open model's options as given: ``--rate``, ``--stages``, ``--max-users``,
    ``--arrival``."""

    rate: float | None
    stages: tuple[Stage, ...]
    max_users: int
    arrival: ArrivalPattern

    @property
    def given(self) -> bool:
        return self.rate is not None or bool(self.stages) or not self.arrival.is_constant


def load_of(
    users: Users,
    closed: ClosedLoad,
    plan: PlanOptions,
    trace: Trace | None,
    speed: float | None,
    *,
    bounded: bool,
) -> Load:
    """The load the options ask for: a replay, a load plan, the file's shape or ``closed``
    (``RunConfigError`` when they make no sense; a replay with a plan: one line, exit 2)."""
    if trace is not None:
        if plan.rate is not None or plan.stages:
            raise click.UsageError(FLAG_WORDS[Rule.REPLAY_OF_OTHER_LOAD])
        if not plan.arrival.is_constant:
            raise click.UsageError(FLAG_WORDS[Rule.ARRIVAL_WITHOUT_RATE])
        return ReplayLoad(trace, speed, closed if speed is None else None)
    if plan.given:
        duration_s = None if plan.stages else closed.duration_s
        return PlannedLoad(plan.rate, plan.stages, plan.max_users, plan.arrival, duration_s)
    return closed_or_file_shape(users, closed, bounded=bounded)
