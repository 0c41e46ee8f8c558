"""The comparability key: equal for like-for-like runs, different when what runs, the load,
the warm-up, the host or the machine differs, and saying which."""

from __future__ import annotations

from typing import Any

import pytest

from spendcast.loadtest.history.key import (
    capacity_inputs,
    comparability_key,
    differences,
    run_inputs,
)
from spendcast.loadtest.history.metadata import Machine
from spendcast.loadtest.shared.run_settings import RunSettings
from tests.loadtest.history.support import MACHINE, config


def key(machine: Machine = MACHINE, warmup_s: float | None = None, **changes: Any) -> str:
    return comparability_key(run_inputs(settings(**changes), machine, warmup_s))


def settings(**changes: Any) -> RunSettings:
    return RunSettings.from_json(config(**changes))


def locustfile(sha256: str) -> dict[str, Any]:
    return {"path": "my_test.py", "files": [{"path": "/somewhere/my_test.py", "sha256": sha256}],
            "available_user_classes": ["ApiUser"], "shapes": []}  # fmt: skip


def test_equal_runs_have_equal_keys() -> None:
    assert key() == key()
    assert len(key()) == 64


def test_what_does_not_shape_the_load_leaves_the_key_alone() -> None:
    assert key(slos=["p99<10ms"], abort_on_fail=True) == key()


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"host": "http://127.0.0.1:8001"}, "host"),
        ({"users": 3}, "load.users"),
        ({"duration_s": 60}, "load.duration_s"),
        ({"think_time": "0.1"}, "load.think_time"),
        (
            {"load_plan": {"model": "rate", "start": 5, "stages": [[10, 5]], "max_users": 10}},
            "load.load_plan",
        ),
        ({"scenario": "mixed", "user_classes": ["MixedUser"]}, "users.scenario"),
        ({"tags": ["fast"]}, "users.tags"),
    ],
)
def test_a_different_load_host_or_scenario_is_a_different_key(
    changes: dict[str, Any], named: str
) -> None:
    assert key(**changes) != key()
    base = run_inputs(settings(), MACHINE, None)
    assert named in differences(base, run_inputs(settings(**changes), MACHINE, None))


def test_a_locustfile_counts_by_its_content_not_its_path() -> None:
    one = key(locustfile=locustfile("1" * 64), scenario="my_test.py: ApiUser")
    moved = locustfile("1" * 64)
    moved["files"][0]["path"] = "/elsewhere/my_test.py"
    assert key(locustfile=moved, scenario="my_test.py: ApiUser") == one
    changed = key(locustfile=locustfile("2" * 64), scenario="my_test.py: ApiUser")
    assert changed != one


def test_the_machine_and_the_warm_up_count() -> None:
    assert key(machine=Machine("Test CPU 3000", 4)) != key()
    assert key(machine=Machine("Other CPU", 2)) != key()
    assert key(warmup_s=5) != key()
    assert differences(run_inputs(settings(), MACHINE, None),
                       run_inputs(settings(), Machine("Other CPU", 2), 5)) == [
        "machine.cpu_model", "warmup_s"]  # fmt: skip


def test_a_capacity_search_is_never_like_a_load_test() -> None:
    plan = {"mode": "users", "start": 1, "growth": "x2", "slos": ["p99<100ms"]}
    search = capacity_inputs({"plan": plan, "host": config()["host"]}, settings(), MACHINE)
    assert comparability_key(search) != key()
    other = capacity_inputs({"plan": {**plan, "growth": "+5"}, "host": config()["host"]},
                            settings(), MACHINE)  # fmt: skip
    assert differences(search, other) == ["load.growth"]
