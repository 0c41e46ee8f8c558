"""Arrival patterns: the gaps' statistics, the split across processes, the seed."""

from __future__ import annotations

import itertools
import statistics

import pytest

from spendcast.loadtest.shared.arrival_pattern import BLOCK, ArrivalPattern
from spendcast.loadtest.shared.load_plan import LoadPlan, Stage


def _gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


def _cv(values: list[float]) -> float:
    return statistics.pstdev(values) / statistics.fmean(values)


def _slots(plan: LoadPlan, index: int = 0, processes: int = 1) -> list[float]:
    schedule = plan.schedule()
    return schedule.slots_by(index, processes, 0, float(plan.duration_s), 10**7)


@pytest.mark.parametrize(
    ("text", "cv"), [("constant", 0.0), ("poisson", 1.0), ("gamma:0.5", 0.5), ("gamma:3", 3.0)]
)
def test_the_gaps_have_the_coefficient_of_variation_asked(text: str, cv: float) -> None:
    plan = LoadPlan.constant_rate(200, 60, 1000, ArrivalPattern.parse(text, seed=7))
    times = _slots(plan)
    assert len(times) > 2 * BLOCK  # several blocks drawn, each continuing the last
    assert _cv(_gaps(times)) == pytest.approx(cv, abs=0.05 + 0.05 * cv)
    assert len(times) == pytest.approx(200 * 60, rel=0.05 + 0.05 * cv)


def test_poisson_counts_per_second_have_the_variance_of_their_mean() -> None:
    plan = LoadPlan.constant_rate(100, 200, 1000, ArrivalPattern.parse("poisson", seed=3))
    per_second = [0] * 200
    for t in _slots(plan):
        per_second[int(t)] += 1
    # Poisson counts: variance = mean (index of dispersion 1); constant spacing gives ~0
    assert statistics.pvariance(per_second) / statistics.fmean(per_second) == pytest.approx(
        1.0, abs=0.25
    )


@pytest.mark.parametrize("text", ["constant", "poisson", "gamma:2"])
def test_processes_share_one_sequence(text: str) -> None:
    plan = LoadPlan("rate", (Stage(10, 300), Stage(10, 50)), 20, 1000, ArrivalPattern.parse(text))
    alone = _slots(plan)
    shared = sorted(t for index in range(3) for t in _slots(plan, index, 3))
    assert shared == pytest.approx(alone)


def test_one_seed_one_pattern_another_seed_another() -> None:
    def pattern(seed: int) -> list[float]:
        return _slots(LoadPlan.constant_rate(50, 30, 100, ArrivalPattern.parse("poisson", seed)))

    assert pattern(5) == pattern(5)
    assert pattern(5) != pattern(6)


def test_a_ramp_keeps_its_count_under_a_random_pattern() -> None:
    plan = LoadPlan("rate", (Stage(60, 400),), 0.0, 1000, ArrivalPattern.parse("gamma:2", 11))
    times = _slots(plan)
    first_half = sum(t < 30 for t in times)
    # N(30) = 1/4 of N(60) on a linear ramp from 0
    assert first_half / len(times) == pytest.approx(0.25, abs=0.03)


def test_asking_again_for_earlier_iterations_draws_the_same() -> None:
    schedule = LoadPlan.constant_rate(100, 600, 100, ArrivalPattern.parse("poisson")).schedule()
    late = schedule.time_of(3 * BLOCK + 5)
    early = schedule.time_of(2)
    assert schedule.time_of(3 * BLOCK + 5) == late
    assert schedule.time_of(2) == early


def test_the_pattern_travels_with_the_plan() -> None:
    plan = LoadPlan.constant_rate(10, 5, 10, ArrivalPattern.parse("gamma:1.5", seed=9))
    assert LoadPlan.from_json(plan.to_json()) == plan
    assert "gamma:1.5 arrivals" in plan.describe()
    # plans written before patterns existed read as constant
    old = {k: v for k, v in plan.to_json().items() if k != "arrival"}
    assert LoadPlan.from_json(old).pattern.is_constant


@pytest.mark.parametrize("text", ["gamma", "gamma:0", "gamma:x", "uniform", "poisson:2"])
def test_bad_patterns_are_named(text: str) -> None:
    with pytest.raises(ValueError, match="invalid arrival pattern"):
        ArrivalPattern.parse(text)


def test_the_closed_model_refuses_a_pattern() -> None:
    with pytest.raises(ValueError, match="--arrival"):
        LoadPlan("users", (Stage(10, 5),), pattern=ArrivalPattern.parse("poisson"))
