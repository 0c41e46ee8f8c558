"""Why a run configuration cannot be built, in the run's own words (``RunConfigError``).

Each ``Rule`` is one combination the value objects of ``config.py`` refuse; its value is the
message, formatted with what was given. ``cli/run_config_errors.py`` says the same in the
command's flags: the rule is the key both share, never the text.
"""

from __future__ import annotations

import enum
from typing import NoReturn

from spendcast.errors import RunConfigError


class Rule(enum.Enum):
    UNKNOWN_SCENARIO = "unknown scenario {scenario!r}: one of {known}"
    BAD_THINK_TIME = "{reason}"
    THINK_TIME_WITH_LOCUSTFILE = (
        "a think time paces the built-in scenarios: a locustfile's users have their own wait_time"
    )
    CLOSED_LOAD_BELOW_ONE = "a closed load runs at least 1 user for at least 1 second"
    NEGATIVE_WARMUP = "a warm-up lasts 0s or more"
    SHORT_SLICE = "a time slice lasts at least 1s"
    NEGATIVE_GRACE = "the abort's grace lasts 0s or more"
    WARMUP_COVERS_RUN = "a {warmup_s}s warm-up leaves nothing to measure in a {limit_s}s run"
    PLAN_WITHOUT_RATE_OR_STAGES = "a load plan needs a rate or stages"
    ARRIVAL_WITHOUT_RATE = "an arrival pattern spaces the open model's iterations: give a rate"
    CONSTANT_RATE_WITHOUT_DURATION = "a constant rate runs for a duration: give one"
    STAGES_AND_DURATION = "stages set the duration (their total): give no other"
    THINK_TIME_ON_TIMETABLE = (
        "a think time is the closed model's pause: the timetable sets when each iteration starts"
    )
    POOL_BELOW_GENERATORS = (
        "a pool of {max_users} users leaves a process without user: {generators} processes "
        "generate the load"
    )
    REPLAY_OF_OTHER_LOAD = (
        "a replay sends the recorded requests at their recorded times: not a locustfile's "
        "users, nor a load plan's"
    )
    REPLAY_ON_MASTER = (
        "a replay reads the trace on this machine: split it across local processes, not a "
        "master's workers"
    )
    REPLAY_AS_ANSWERED_IN_PROCESSES = (
        "a replay as fast as answered keeps the trace's order in one process: no local processes"
    )
    THINK_TIME_IN_TIMED_REPLAY = (
        "a think time is the closed model's pause: replay as fast as answered, not on the trace's "
        "times"
    )
    REPLAY_AS_ANSWERED_WITHOUT_USERS = "a replay as fast as answered needs its closed load's users"
    TIMED_REPLAY_WITH_USERS = "a replay on the trace's times sizes its own pool: no closed load"
    SHAPE_WITHOUT_FILE_SHAPE = "the users' own load shape needs a locustfile that defines one"
    CLOSED_LOAD_UNDER_FILE_SHAPE = (
        "{given} defines a load shape ({shapes}): it sets the users, not a closed load"
    )
    TWO_SHAPES = "{given} defines a load shape ({shapes}): the kit's load shape steps the load"
    MASTER_WITH_PROCESSES = "a master runs no user: local processes belong to its workers"


def refuse(rule: Rule, **values: object) -> NoReturn:
    raise RunConfigError(rule, rule.value.format(**values), values)
