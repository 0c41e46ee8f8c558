"""What one load test runs: host, users, load, generators, gates and output (``RunConfig``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from spendcast.loadtest.run.distributed import MasterOptions
from spendcast.loadtest.run.locustfile import UserLocustfile
from spendcast.loadtest.shared.abort import DEFAULT_GRACE_S
from spendcast.loadtest.shared.arrival_pattern import CONSTANT, ArrivalPattern
from spendcast.loadtest.shared.contract import (
    PLAN_LOCUSTFILE,
    RECORDING_LOCUSTFILE,
    REPLAY_LOCUSTFILE,
    REPLAY_USER,
    SCENARIO_USERS,
    SCENARIOS_LOCUSTFILE,
)
from spendcast.loadtest.shared.credentials import public_host
from spendcast.loadtest.shared.duration import parse_think_time
from spendcast.loadtest.shared.load_plan import DEFAULT_MAX_USERS, LoadPlan, Stage
from spendcast.loadtest.shared.run_settings import RunSettings
from spendcast.loadtest.shared.slo import Slo
from spendcast.loadtest.shared.trace import Trace


@dataclass(frozen=True)
class RunConfig:
    """Everything one run needs. Secrets (``token``, ``cookie``) never reach the run directory.

    ``spawn_rate`` ``None`` starts every user within the first second; ``out_dir`` ``None``
    writes to ``runs/<UTC timestamp>-<scenario>/``; ``token``/``cookie`` ``None`` keep
    ``SPENDCAST_API_TOKEN``/``SPENDCAST_COOKIE`` from the environment; ``think_time`` is
    ``SPENDCAST_LOADTEST_THINK_TIME`` (seconds, ``"0.1"`` or ``"0.05-0.2"``). ``master``: run
    as Locust's master, the users on workers (``spendcast loadtest --worker``, distributed.py).
    ``abort_on_fail``: stop as soon as an SLO is broken beyond recovery, or still broken
    ``abort_grace_s`` into the run (abort.py). ``user_file``: the user's own locustfile and
    classes instead of ``scenario``'s (``tags`` and ``exclude_tags`` select tasks of either, as
    Locust's ``--tags``/``--exclude-tags``).

    The load plan (``load_plan.py``): ``rate`` alone is a constant arrival rate for
    ``duration_s``; with ``stages`` it is the starting rate, and without ``rate`` the stages
    are users (closed); ``stages`` set ``duration_s`` to their total and ``users`` no longer
    counts. ``max_users`` bounds the open model's pool. It drives any user class: the
    scenario's or the user's own locustfile's.
    """

    host: str
    scenario: str = "predict"
    users: int = 10
    spawn_rate: float | None = None
    duration_s: int = 30
    processes: int | None = None
    slos: tuple[Slo, ...] = ()
    out_dir: Path | None = None
    think_time: str | None = None
    token: str | None = None
    cookie: str | None = None
    plots: bool = True
    check_host: bool = True
    extra_env: Mapping[str, str] = field(default_factory=dict)
    # A locustfile with a load shape and no user (``capacity``), appended after the users'.
    shape_file: Path | None = None
    master: MasterOptions | None = None
    abort_on_fail: bool = False
    abort_grace_s: float = DEFAULT_GRACE_S
    rate: float | None = None
    stages: tuple[Stage, ...] = ()
    max_users: int = DEFAULT_MAX_USERS
    arrival: ArrivalPattern = CONSTANT  # how the open model spaces its iterations
    user_file: UserLocustfile | None = None
    tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    # False: the user classes' own ``host`` attributes (no --host for Locust, as plain locust).
    pass_host: bool = True
    # With a load shape of the user's file: ``duration_s`` ends it as -t would (it was given);
    # False: the shape alone ends the run, as under plain locust.
    bounded: bool = True
    # The first seconds, sent but left out of every figure and SLO (window.py); ``slice_s``:
    # figures per slice of the measured window, and the drift line.
    warmup_s: int = 0
    slice_s: int | None = None
    # --replay: the recorded requests sent again, ``replay_speed`` times as fast on the open
    # model's timetable (``None``: as fast as answered by ``users``, the closed model).
    replay: Trace | None = None
    replay_speed: float | None = 1.0

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIO_USERS:
            raise ValueError(f"unknown scenario {self.scenario!r}: one of {sorted(SCENARIO_USERS)}")
        if self.users < 1 or self.duration_s < 1:
            raise ValueError("users and duration_s must be at least 1")
        if self.warmup_s < 0 or (self.slice_s is not None and self.slice_s < 1):
            raise ValueError("--warmup is 0 or more and --slice at least 1s")
        if self.think_time is not None:
            parse_think_time(self.think_time)
        if self.user_file is not None and self.think_time is not None:
            raise ValueError("--think-time paces the built-in scenarios: a locustfile's users "
                             "have their own wait_time")  # fmt: skip
        if self.replay is not None:
            self._check_replay()
        if not self.arrival.is_constant and self.rate is None:
            raise ValueError("--arrival spaces the open model's iterations: give --rate")
        plan = self.plan
        if plan is not None:
            object.__setattr__(self, "duration_s", plan.duration_s)  # frozen: set once, here
            if plan.model == "rate" and self.think_time is not None:
                raise ValueError("--think-time is the closed model's pause: the timetable "
                                 "sets when each iteration starts")  # fmt: skip
            generators = self.master.expect_workers if self.master else self.processes or 1
            if plan.model == "rate" and self.max_users < generators:
                raise ValueError(f"--max-users {self.max_users} leaves a process without user: "
                                 f"{generators} processes generate the load")  # fmt: skip
        if self.warmup_s and self.time_limit_s is not None and self.warmup_s >= self.time_limit_s:
            raise ValueError(f"--warmup {self.warmup_s}s leaves nothing to measure in a "
                             f"{self.time_limit_s}s run")  # fmt: skip

    def _check_replay(self) -> None:
        if self.user_file is not None or self.rate is not None or self.stages:
            raise ValueError("--replay sends the recorded requests at their recorded times: "
                             "no -f, --rate or --stages")  # fmt: skip
        if self.master is not None:
            raise ValueError("--replay reads the trace on this machine: split it with "
                             "--processes, not --master's workers")  # fmt: skip
        if self.replay_speed is None and self.processes is not None:
            raise ValueError("--speed max replays the trace in order from one process: "
                             "no --processes")  # fmt: skip
        if self.replay_speed is not None and self.think_time is not None:
            raise ValueError("--think-time is the closed model's pause: give --speed max")

    @property
    def user_shape(self) -> bool:
        """The user's file has a load shape and it drives the run (no load plan, no capacity)."""
        return bool(self.user_file and self.user_file.shapes and not self.plan and
                    not self.shape_file)  # fmt: skip

    @property
    def time_limit_s(self) -> int | None:
        """When the run is ended from outside (``None``: only the user's shape ends it)."""
        return None if self.user_shape and not self.bounded else self.duration_s

    @property
    def plan(self) -> LoadPlan | None:
        """The run's load plan; ``None``: ``users`` for ``duration_s`` (Locust's own way)."""
        if self.replay is not None:
            speed = self.replay_speed
            return None if speed is None else self.replay.plan(speed, self.max_users)
        if self.rate is None and not self.stages:
            return None
        if self.rate is None:
            return LoadPlan("users", self.stages)
        if not self.stages:
            return LoadPlan.constant_rate(self.rate, self.duration_s, self.max_users, self.arrival)
        return LoadPlan("rate", self.stages, self.rate, self.max_users, self.arrival)

    def public(self) -> RunSettings:
        """The configuration as written in ``summary.json``: no token, no cookie."""
        plan = self.plan
        return RunSettings(
            host=public_host(self.host),
            scenario=self.label,
            users=self.users if plan is None and not self.user_shape else None,
            spawn_rate=None if self.user_shape else self.effective_spawn_rate,
            duration_s=self.time_limit_s,
            processes=self.processes,
            workers=None if self.master is None else self.master.expect_workers,
            think_time=self.think_time,
            slos=tuple(slo.expression for slo in self.slos),
            abort_on_fail=self.abort_on_fail,
            abort_grace_s=self.abort_grace_s if self.abort_on_fail else None,
            load_plan=plan,
            locustfile=None if self.user_file is None else self.user_file.public(),
            user_classes=self.user_classes,
            tags=self.tags,
            exclude_tags=self.exclude_tags,
            warmup_s=self.warmup_s,
            slice_s=self.slice_s,
            replay=None if self.replay is None else self.replay.public(self.replay_speed),
        )

    @property
    def effective_spawn_rate(self) -> float:
        return float(self.users) if self.spawn_rate is None else self.spawn_rate

    @property
    def label(self) -> str:
        """The scenario's name, or ``my_test.py: ApiUser`` for a user's locustfile."""
        if self.replay is not None:
            return "replay"
        return self.scenario if self.user_file is None else self.user_file.label

    @property
    def user_classes(self) -> tuple[str, ...]:
        if self.user_file is not None:
            return self.user_file.classes
        return (REPLAY_USER,) if self.replay else (SCENARIO_USERS[self.scenario],)

    def locustfiles(self) -> list[Path]:
        """What ``-f`` gets: the load plan's shape first (``--rate``/``--stages``: Locust runs
        the first shape it finds, so it wins over any shape of the users' files), the users'
        files, capacity's load shape if any, and always last the recording hooks."""
        plan = [PLAN_LOCUSTFILE] if self.plan is not None else []
        users = list(self.user_file.files) if self.user_file else [SCENARIOS_LOCUSTFILE]
        if self.replay is not None:
            users = [REPLAY_LOCUSTFILE]
        shape = [self.shape_file] if self.shape_file else []
        return [*plan, *users, *shape, RECORDING_LOCUSTFILE]
