"""The run configuration's value objects: each combination that makes no sense is refused, in
the run's own words, with its rule; what is built says what it runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from spendcast.errors import LoadTestError, RunConfigError
from spendcast.loadtest.run.config import RunConfig, closed_or_file_shape
from spendcast.loadtest.run.config_rules import Rule
from spendcast.loadtest.run.distributed import MasterOptions
from spendcast.loadtest.run.gates import Gates
from spendcast.loadtest.run.generators import LocalProcesses, generators_of
from spendcast.loadtest.run.load import (
    ClosedLoad,
    FileShapeLoad,
    PlannedLoad,
    ReplayLoad,
    SteppedLoad,
)
from spendcast.loadtest.run.locust_command import locust_command
from spendcast.loadtest.run.locustfile import UserLocustfile
from spendcast.loadtest.run.output import Window
from spendcast.loadtest.run.target import Target
from spendcast.loadtest.run.users import Users
from spendcast.loadtest.shared.arrival_pattern import ArrivalPattern
from spendcast.loadtest.shared.contract import (
    CAPACITY_LOCUSTFILE,
    PLAN_LOCUSTFILE,
    RECORDING_LOCUSTFILE,
    REPLAY_LOCUSTFILE,
)
from spendcast.loadtest.shared.load_plan import Stage
from spendcast.loadtest.shared.trace import Replayed, Trace

TARGET = Target("http://h")
POISSON = ArrivalPattern.parse("poisson")
TRACE = Trace(
    tuple(Replayed(i * 0.5, "GET", "/predict", f"age={i}") for i in range(8)), "log.db",
    "inference-log", 1_800_000_000.0,
)  # fmt: skip


def shaped_file(*shapes: str) -> UserLocustfile:
    return UserLocustfile("my_test.py", (Path("/x/my_test.py"),), ("ApiUser",), shapes=shapes)


def timed_replay() -> ReplayLoad:
    return ReplayLoad(TRACE, 2.0)


def answered_replay() -> ReplayLoad:
    return ReplayLoad(TRACE, None, ClosedLoad(3))


REFUSED: list[tuple[Callable[[], object], Rule, str]] = [
    (lambda: Users("soak"), Rule.UNKNOWN_SCENARIO, "unknown scenario 'soak': one of"),
    (lambda: Users(think_time="slow"), Rule.BAD_THINK_TIME, "invalid think time 'slow'"),
    (lambda: Users(file=shaped_file(), think_time="0.1"), Rule.THINK_TIME_WITH_LOCUSTFILE,
     "a think time paces the built-in scenarios"),
    (lambda: ClosedLoad(0), Rule.CLOSED_LOAD_BELOW_ONE, "at least 1 user"),
    (lambda: ClosedLoad(duration_s=0), Rule.CLOSED_LOAD_BELOW_ONE, "at least 1 second"),
    (lambda: Window(-1), Rule.NEGATIVE_WARMUP, "a warm-up lasts 0s or more"),
    (lambda: Window(slice_s=0), Rule.SHORT_SLICE, "a time slice lasts at least 1s"),
    (lambda: Gates(abort_grace_s=-1), Rule.NEGATIVE_GRACE, "grace lasts 0s or more"),
    (lambda: PlannedLoad(duration_s=30), Rule.PLAN_WITHOUT_RATE_OR_STAGES, "a rate or stages"),
    (lambda: PlannedLoad(stages=(Stage(5, 2),), arrival=POISSON), Rule.ARRIVAL_WITHOUT_RATE,
     "an arrival pattern spaces the open model's iterations: give a rate"),
    (lambda: PlannedLoad(10), Rule.CONSTANT_RATE_WITHOUT_DURATION, "give one"),
    (lambda: PlannedLoad(10, (Stage(5, 20),), duration_s=30), Rule.STAGES_AND_DURATION,
     "stages set the duration (their total)"),
    (lambda: ReplayLoad(TRACE, None), Rule.REPLAY_AS_ANSWERED_WITHOUT_USERS, "needs its closed"),
    (lambda: ReplayLoad(TRACE, 1.0, ClosedLoad()), Rule.TIMED_REPLAY_WITH_USERS, "no closed"),
    (lambda: generators_of(2, MasterOptions(2)), Rule.MASTER_WITH_PROCESSES,
     "a master runs no user: local processes belong to its workers"),
    (lambda: RunConfig(TARGET, Users(think_time="0.1"), PlannedLoad(50, duration_s=10)),
     Rule.THINK_TIME_ON_TIMETABLE, "the timetable sets when each iteration starts"),
    (lambda: RunConfig(TARGET, load=PlannedLoad(50, max_users=3, duration_s=10),
                       generators=LocalProcesses(4)),
     Rule.POOL_BELOW_GENERATORS, "a pool of 3 users leaves a process without user: 4 processes"),
    (lambda: RunConfig(TARGET, load=PlannedLoad(50, max_users=2, duration_s=10),
                       generators=MasterOptions(3)),
     Rule.POOL_BELOW_GENERATORS, "a pool of 2 users leaves a process without user: 3 processes"),
    (lambda: RunConfig(TARGET, load=ClosedLoad(duration_s=5), window=Window(5)),
     Rule.WARMUP_COVERS_RUN, "a 5s warm-up leaves nothing to measure in a 5s run"),
    (lambda: RunConfig(TARGET, load=PlannedLoad(0, (Stage(4, 10),)), window=Window(6)),
     Rule.WARMUP_COVERS_RUN, "a 6s warm-up leaves nothing to measure in a 4s run"),
    (lambda: RunConfig(TARGET, Users(file=shaped_file()), timed_replay()),
     Rule.REPLAY_OF_OTHER_LOAD, "not a locustfile's users"),
    (lambda: RunConfig(TARGET, load=timed_replay(), generators=MasterOptions(2)),
     Rule.REPLAY_ON_MASTER, "a replay reads the trace on this machine"),
    (lambda: RunConfig(TARGET, load=answered_replay(), generators=LocalProcesses(2)),
     Rule.REPLAY_AS_ANSWERED_IN_PROCESSES, "keeps the trace's order in one process"),
    (lambda: RunConfig(TARGET, Users(think_time="0.1"), timed_replay()),
     Rule.THINK_TIME_IN_TIMED_REPLAY, "a think time is the closed model's pause"),
    (lambda: RunConfig(TARGET, load=FileShapeLoad(30)), Rule.SHAPE_WITHOUT_FILE_SHAPE,
     "needs a locustfile that defines one"),
    (lambda: RunConfig(TARGET, Users(file=shaped_file("Steps")), ClosedLoad()),
     Rule.CLOSED_LOAD_UNDER_FILE_SHAPE,
     "my_test.py defines a load shape (Steps): it sets the users, not a closed load"),
    (lambda: RunConfig(TARGET, Users(file=shaped_file("Steps")),
                       SteppedLoad(CAPACITY_LOCUSTFILE, 1, 60)),
     Rule.TWO_SHAPES, "my_test.py defines a load shape (Steps): the kit's load shape"),
]  # fmt: skip


@pytest.mark.parametrize(("build", "rule", "message"), REFUSED, ids=[r.name for _, r, _ in REFUSED])
def test_each_combination_that_makes_no_sense_is_refused(
    build: Callable[[], object], rule: Rule, message: str
) -> None:
    with pytest.raises(RunConfigError) as raised:
        build()
    assert raised.value.rule is rule
    assert message in str(raised.value)
    assert "--" not in str(raised.value)  # the run's words; cli/ says it in flags


def test_every_rule_is_exercised_and_a_refusal_is_a_load_test_value_error() -> None:
    assert {rule for _, rule, _ in REFUSED} == set(Rule)
    assert issubclass(RunConfigError, LoadTestError)
    assert issubclass(RunConfigError, ValueError)


def test_a_closed_run_is_locusts_users_for_a_time(tmp_path: Path) -> None:
    config = RunConfig(TARGET, Users("batch"), ClosedLoad(4, 2.0, 12), LocalProcesses(2))
    public = config.public()
    assert (public.users, public.spawn_rate, public.duration_s) == (4, 2.0, 12)
    assert (public.processes, public.workers, public.load_plan) == (2, None, None)
    command = locust_command(config, tmp_path)
    assert command[command.index("--users") + 1] == "4"
    assert command[command.index("--run-time") + 1] == "12s"


def test_stages_set_the_duration_and_a_plan_has_no_users() -> None:
    config = RunConfig(TARGET, load=PlannedLoad(0, (Stage(4, 10), Stage(6, 20))))
    public = config.public()
    assert config.time_limit_s == public.duration_s == 10
    assert public.users is None
    assert public.load_plan is not None
    assert public.load_plan.model == "rate"
    assert config.locustfiles()[0] == PLAN_LOCUSTFILE


def test_a_replay_is_timed_or_as_fast_as_answered() -> None:
    timed = RunConfig(TARGET, load=timed_replay())
    assert timed.label == "replay"
    timed_replay_facts = timed.public().replay
    assert timed_replay_facts is not None
    assert timed_replay_facts.speed == 2.0
    assert timed.plan is not None
    assert timed.plan.model == "rate"
    answered = RunConfig(TARGET, load=answered_replay())
    assert answered.plan is None
    assert answered.public().users == 3
    answered_replay_facts = answered.public().replay
    assert answered_replay_facts is not None
    assert answered_replay_facts.speed == "max"
    assert REPLAY_LOCUSTFILE in answered.locustfiles()


def test_a_files_shape_drives_its_users_ended_by_a_duration_only_if_given() -> None:
    users = Users(file=shaped_file("Steps"))
    assert closed_or_file_shape(Users(), ClosedLoad(5)) == ClosedLoad(5)
    bounded = RunConfig(TARGET, users, closed_or_file_shape(users, ClosedLoad(duration_s=20)))
    unbounded = RunConfig(
        TARGET, users, closed_or_file_shape(users, ClosedLoad(duration_s=20), bounded=False)
    )
    assert (bounded.time_limit_s, unbounded.time_limit_s) == (20, None)
    assert (bounded.public().users, bounded.public().spawn_rate) == (None, None)


def test_a_stepped_load_appends_its_shape_and_its_environment() -> None:
    load = SteppedLoad(CAPACITY_LOCUSTFILE, 5, 300, {"SHAPE_PLAN": "{}"})
    config = RunConfig(TARGET, load=load, extra_env={"OTHER": "1"})
    assert config.locustfiles()[-2:] == [CAPACITY_LOCUSTFILE, RECORDING_LOCUSTFILE]
    assert config.environment == {"OTHER": "1", "SHAPE_PLAN": "{}"}
    assert (config.public().users, config.public().spawn_rate) == (5, 5.0)


def test_a_master_sends_its_workers_the_users_and_never_forks_local_processes(
    tmp_path: Path,
) -> None:
    config = RunConfig(TARGET, generators=generators_of(None, MasterOptions(3)))
    command = locust_command(config, tmp_path)
    assert command[command.index("--expect-workers") + 1] == "3"
    assert "--processes" not in command
    assert config.public().workers == 3
