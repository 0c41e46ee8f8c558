"""A run configuration refused (``RunConfigError``), said in the command's flags."""

from __future__ import annotations

from typing import Final

from spendcast.errors import RunConfigError
from spendcast.loadtest.run.config_rules import Rule

FLAG_WORDS: Final[dict[Rule, str]] = {
    Rule.UNKNOWN_SCENARIO: "unknown scenario {scenario!r}: one of {known}",
    Rule.BAD_THINK_TIME: "{reason}",
    Rule.THINK_TIME_WITH_LOCUSTFILE: (
        "--think-time paces the built-in scenarios: a locustfile's users have their own wait_time"
    ),
    Rule.CLOSED_LOAD_BELOW_ONE: "--users and --duration must be at least 1",
    Rule.NEGATIVE_WARMUP: "--warmup is 0 or more",
    Rule.SHORT_SLICE: "--slice is at least 1s",
    Rule.NEGATIVE_GRACE: "--abort-grace is 0 or more",
    Rule.WARMUP_COVERS_RUN: "--warmup {warmup_s}s leaves nothing to measure in a {limit_s}s run",
    Rule.PLAN_WITHOUT_RATE_OR_STAGES: "give --rate or --stages",
    Rule.ARRIVAL_WITHOUT_RATE: "--arrival spaces the open model's iterations: give --rate",
    Rule.CONSTANT_RATE_WITHOUT_DURATION: "--rate without --stages needs --duration",
    Rule.STAGES_AND_DURATION: "--stages set the duration (their total): drop --duration",
    Rule.THINK_TIME_ON_TIMETABLE: (
        "--think-time is the closed model's pause: the timetable sets when each iteration starts"
    ),
    Rule.POOL_BELOW_GENERATORS: (
        "--max-users {max_users} leaves a process without user: {generators} processes generate "
        "the load"
    ),
    Rule.REPLAY_OF_OTHER_LOAD: (
        "--replay sends the recorded requests at their recorded times: no -f, --rate or --stages"
    ),
    Rule.REPLAY_ON_MASTER: (
        "--replay reads the trace on this machine: split it with --processes, not --master's "
        "workers"
    ),
    Rule.REPLAY_AS_ANSWERED_IN_PROCESSES: (
        "--speed max replays the trace in order from one process: no --processes"
    ),
    Rule.THINK_TIME_IN_TIMED_REPLAY: "--think-time is the closed model's pause: give --speed max",
    Rule.REPLAY_AS_ANSWERED_WITHOUT_USERS: "--speed max needs --users",
    Rule.TIMED_REPLAY_WITH_USERS: "--users goes with --speed max under --replay",
    Rule.SHAPE_WITHOUT_FILE_SHAPE: "-f FILE defines no load shape",
    Rule.CLOSED_LOAD_UNDER_FILE_SHAPE: (
        "{given} defines a load shape ({shapes}): it sets the users, not --users"
    ),
    Rule.TWO_SHAPES: "{given} defines a load shape ({shapes}): capacity steps the load itself",
    Rule.MASTER_WITH_PROCESSES: "--master runs no user: --processes belongs to the workers",
}


def in_flags(error: RunConfigError) -> str:
    """The refusal in the command's flags (the run's own words for a rule without flags)."""
    rule = error.rule
    if not isinstance(rule, Rule):
        return str(error)
    return FLAG_WORDS[rule].format(**error.values)
