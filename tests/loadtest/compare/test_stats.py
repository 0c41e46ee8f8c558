"""The comparison's statistics and verdicts, fed synthetic summaries (no server, no Locust).

The last test replays every other one under a line tracer and asserts that each line of
``compare/stats.py`` ran: every branch of the decisions is reached by a case here.
"""

from __future__ import annotations

import ast
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from spendcast.loadtest.compare import stats
from spendcast.loadtest.compare.stats import (
    NO_DIFFERENCE,
    SMALL,
    FigureComparison,
    compare_pairs,
    compare_seconds,
    figure_value,
    headline,
    overall,
)
from spendcast.loadtest.shared.run_summary import Summary


def summary(
    rps: float = 100.0,
    p50: float | None = 10.0,
    p95: float | None = 20.0,
    p99: float | None = 40.0,
    *,
    requests: int = 1000,
    failures: int = 0,
    seconds: Sequence[dict[str, float]] = (),
) -> Summary:
    """A run's ``summary.json`` as far as the comparison reads it."""
    return Summary.from_json({
        "timestamp": "2026-12-01T10:00:00.000Z",
        "duration_s": 10.0,
        "rps": rps,
        "error_rate": failures / requests if requests else 0.0,
        "latency_ms": {"p50": p50, "p95": p95, "p99": p99},
        "requests": requests,
        "failures": failures,
        "timeseries": [{"time": time, **row} for time, row in enumerate(seconds)],
    })  # fmt: skip


def per_second(rps: Sequence[float], latency: Sequence[float]) -> list[dict[str, float]]:
    return [{"rps": r, "p50": ms, "p95": 2 * ms, "p99": 4 * ms}
            for r, ms in zip(rps, latency, strict=True)]  # fmt: skip


def p_value(figure: FigureComparison) -> float:
    assert figure.p_value is not None, figure
    return figure.p_value


def by_name(figures: Sequence[FigureComparison]) -> dict[str, FigureComparison]:
    return {f.name: f for f in figures}


# Five pairs whose candidate/baseline latency ratio wobbles around ``centre``.
WOBBLE = (0.99, 1.01, 1.0, 0.995, 1.005)


def pairs_around(
    centre: float, wobble: Sequence[float] = WOBBLE
) -> tuple[list[Summary], list[Summary]]:
    base, cand = [], []
    for i, w in enumerate(wobble):
        rps, p50, p95, p99 = 100.0 + i, 10.0 + i, 20.0 + i, 40.0 + i
        base.append(summary(rps, p50, p95, p99))
        f = centre * w
        cand.append(summary(rps / f, p50 * f, p95 * f, p99 * f))
    return base, cand


# --- pairs: paired t-test on the log ratios -------------------------------------------------


def test_pairs_a_consistent_halving_of_latency_is_faster() -> None:
    figures = by_name(compare_pairs(*pairs_around(0.5)))
    for name in ("rps", "p50", "p95", "p99"):
        assert figures[name].verdict == "faster", figures[name]
        assert p_value(figures[name]) < 0.01
    assert figures["p99"].ratio == pytest.approx(0.5, rel=0.01)
    assert figures["rps"].ratio == pytest.approx(2.0, rel=0.01)
    # The spread is the 99 % confidence interval of the ratio: around it, and excluding 1.
    assert 0.48 < figures["p99"].low < figures["p99"].ratio < figures["p99"].high < 0.52
    assert figures["errors"].verdict == NO_DIFFERENCE  # no failure either side: zero spread
    assert figures["errors"].p_value == 1.0
    assert overall(list(figures.values())) == "faster"


def test_pairs_a_consistent_doubling_of_latency_is_slower() -> None:
    figures = compare_pairs(*pairs_around(2.0))
    assert {f.name: f.verdict for f in figures} == {
        "rps": "slower", "p50": "slower", "p95": "slower", "p99": "slower",
        "errors": NO_DIFFERENCE,
    }  # fmt: skip
    assert overall(figures) == "slower"
    assert headline(figures, "main", "branch").startswith("branch is slower than main: ")


def test_pairs_a_real_but_small_change_is_below_the_threshold() -> None:
    # 3 % slower in every pair: the t-test is sure of it, but it is under the 5 % threshold.
    figures = by_name(compare_pairs(*pairs_around(1.03)))
    assert p_value(figures["p99"]) < 0.01
    assert figures["p99"].verdict == SMALL
    assert figures["p99"].low > 1  # the spread shown excludes 1, as the verdict says
    # The same change with a 2 % threshold is a verdict.
    lower = by_name(compare_pairs(*pairs_around(1.03), threshold=0.02))
    assert lower["p99"].verdict == "slower"


def test_pairs_a_large_but_noisy_change_is_not_significant() -> None:
    # 20 % slower on average, but one pair says 40 % faster: p is far above 0.01.
    figures = by_name(compare_pairs(*pairs_around(1.2, (1.3, 0.5, 1.4, 1.35, 1.25))))
    assert p_value(figures["p99"]) > 0.01
    assert figures["p99"].verdict == NO_DIFFERENCE
    assert figures["p99"].low < 1 < figures["p99"].high  # the spread shown includes 1
    assert overall(list(figures.values())) == NO_DIFFERENCE


def test_pairs_zero_spread_every_pair_agreeing_is_significant() -> None:
    # The same ratio in every pair (to rounding): no spread for a t-test (which would warn of
    # catastrophic cancellation); p is 0, the ratio decides.
    base, cand = pairs_around(0.8, (1.0, 1.0, 1.0))
    figures = by_name(compare_pairs(base, cand))
    assert figures["p99"].p_value == 0.0
    assert figures["p99"].verdict == "faster"
    assert figures["p99"].low == pytest.approx(0.8)
    assert figures["p99"].high == pytest.approx(0.8)


def test_pairs_identical_runs_have_no_difference() -> None:
    runs = [summary(100.0, 10.0, 20.0, 40.0)] * 3
    figures = compare_pairs(runs, runs)
    assert all(f.verdict == NO_DIFFERENCE for f in figures)
    assert {f.p_value for f in figures} == {1.0}  # zero spread around a zero log ratio
    assert headline(figures, "a", "b").startswith("b vs a: no significant difference; ")


def test_pairs_one_pair_gives_no_p_value_and_no_verdict() -> None:
    figures = compare_pairs([summary(p99=40.0)], [summary(p99=10.0)])
    assert all(f.p_value is None for f in figures)
    assert all(f.verdict == NO_DIFFERENCE for f in figures)


def test_pairs_error_rate_is_compared_by_difference() -> None:
    base = [summary(failures=f) for f in (0, 1, 0, 1, 0)]  # ~0.04 %
    more = [summary(failures=f) for f in (20, 22, 19, 21, 20)]  # ~2 %
    figures = by_name(compare_pairs(base, more))
    assert figures["errors"].verdict == "more errors"
    assert figures["errors"].ratio == pytest.approx((102 - 2) / 5 / 1000)
    assert by_name(compare_pairs(more, base))["errors"].verdict == "fewer errors"
    # Consistent, but under 0.1 percentage point: no verdict.
    tiny = [summary(failures=1, requests=10_000)] * 5
    none = [summary(failures=0, requests=10_000)] * 5
    assert by_name(compare_pairs(none, tiny))["errors"].verdict == NO_DIFFERENCE


def test_pairs_skip_a_missing_percentile_and_survive_all_missing() -> None:
    base = [summary(p99=None), summary(p99=40.0), summary(p99=41.0), summary(p99=39.0)]
    cand = [summary(p99=10.0), summary(p99=20.0), summary(p99=20.5), summary(p99=19.5)]
    figures = by_name(compare_pairs(base, cand))
    assert len(figures["p99"].per_pair) == 3  # the pair without a baseline p99 is left out
    assert figures["p99"].verdict == "faster"
    empty = by_name(compare_pairs([summary(p50=None)] * 2, [summary(p50=None)] * 2))["p50"]
    assert math.isnan(empty.baseline)
    assert math.isnan(empty.low)
    assert math.isnan(empty.high)
    assert empty.verdict == NO_DIFFERENCE


def test_pairs_a_zero_figure_has_no_ratio() -> None:
    # rps 0 in every baseline: no log ratio exists; the geometric mean falls back to the mean.
    figures = by_name(compare_pairs([summary(rps=0.0)] * 3, [summary(rps=50.0)] * 3))
    assert figures["rps"].baseline == 0.0
    assert figures["rps"].p_value is None
    assert figures["rps"].verdict == NO_DIFFERENCE


def test_the_pairs_must_be_as_many_on_each_side() -> None:
    with pytest.raises(ValueError, match=r"shorter|longer"):
        compare_pairs([summary()] * 2, [summary()] * 3)


# --- two run directories: Mann-Whitney on the seconds, Fisher on the failures ----------------


def test_seconds_a_run_twice_as_slow_is_slower() -> None:
    steady = per_second([100, 101, 99, 100, 102, 98, 100, 100], [10, 11, 10, 9, 10, 11, 10, 10])
    slow = per_second([50, 51, 49, 50, 52, 48, 50, 50], [20, 22, 20, 18, 20, 22, 20, 20])
    base = summary(100.0, 10.0, 20.0, 40.0, seconds=steady)
    cand = summary(50.0, 20.0, 40.0, 80.0, seconds=slow)
    figures = by_name(compare_seconds(base, cand))
    for name in ("rps", "p50", "p95", "p99"):
        assert figures[name].verdict == "slower", figures[name]
        assert p_value(figures[name]) < 0.01
    assert figures["p50"].ratio == 2.0
    assert figures["p50"].low == pytest.approx(2.0)
    assert figures["p50"].high == pytest.approx(2.0)
    assert by_name(compare_seconds(cand, base))["p99"].verdict == "faster"


def test_seconds_the_partial_first_and_last_seconds_are_left_out() -> None:
    rows = per_second([1, 100, 100, 100, 1], [500, 10, 10, 10, 500])
    assert stats._per_second(summary(seconds=rows), "p50") == [10.0, 10.0, 10.0]
    assert stats._per_second(summary(seconds=rows), "rps") == [100.0, 100.0, 100.0]


def test_seconds_too_few_or_identical_seconds_give_no_p_value() -> None:
    rows = per_second([100, 100, 100, 100], [10, 10, 10, 10])  # 2 full seconds
    short = summary(seconds=rows)
    figures = by_name(compare_seconds(short, summary(p50=20.0, seconds=rows)))
    assert figures["p50"].p_value is None
    assert figures["p50"].verdict == NO_DIFFERENCE
    flat = summary(seconds=per_second([100] * 6, [10] * 6))
    same = by_name(compare_seconds(flat, flat))
    assert same["p50"].p_value is None  # every second equal on both sides: nothing to rank
    assert same["p50"].verdict == NO_DIFFERENCE


def test_seconds_a_small_difference_is_below_the_threshold() -> None:
    base = summary(p50=10.0, seconds=per_second([100] * 10, [10, 10.1] * 5))
    cand = summary(p50=10.3, seconds=per_second([100] * 10, [10.3, 10.4] * 5))
    p50 = by_name(compare_seconds(base, cand))["p50"]
    assert p_value(p50) < 0.01
    assert p50.verdict == NO_DIFFERENCE  # ×1.03 is under the 5 % threshold


def test_seconds_a_zero_baseline_has_no_ratio_and_quartiles_of_zero_none() -> None:
    zero = summary(rps=0.0, seconds=per_second([0] * 6, [10] * 6))
    some = summary(rps=10.0, seconds=per_second([10, 11, 9, 10, 12, 10], [10] * 6))
    rps = by_name(compare_seconds(zero, some))["rps"]
    assert math.isnan(rps.ratio)
    assert math.isnan(rps.low)
    assert math.isnan(rps.high)
    assert rps.verdict == NO_DIFFERENCE
    assert stats._quartile_ratio([1.0], [1.0, 2.0]) == pytest.approx((math.nan, math.nan),
                                                                        nan_ok=True)  # fmt: skip


def test_seconds_failures_use_fishers_exact_test() -> None:
    rows = per_second([100] * 6, [10] * 6)
    clean = summary(requests=10_000, failures=2, seconds=rows)
    broken = summary(requests=10_000, failures=80, seconds=rows)
    errors = by_name(compare_seconds(clean, broken))["errors"]
    assert p_value(errors) < 1e-10
    assert errors.verdict == "more errors"
    assert errors.ratio == pytest.approx(0.0078)
    assert by_name(compare_seconds(broken, clean))["errors"].verdict == "fewer errors"
    # 1 against 3 failures: not significant, and under 0.1 percentage point anyway.
    few = by_name(compare_seconds(summary(failures=1), summary(failures=3)))["errors"]
    assert p_value(few) > 0.01
    assert few.verdict == NO_DIFFERENCE
    assert by_name(compare_seconds(summary(), summary()))["errors"].p_value == 1.0


# --- verdicts and their texts ---------------------------------------------------------------


def figure(name: str, verdict: str) -> FigureComparison:
    return FigureComparison(name, name, 1.0, 1.0, 1.0, 1.0, 1.0, None, verdict)


def test_overall_is_mixed_when_significant_figures_disagree() -> None:
    mixed = [figure("rps", "faster"), figure("p99", "slower"), figure("errors", "fewer errors")]
    assert overall(mixed) == "mixed: better on rps, errors, worse on p99"
    assert overall([figure("rps", NO_DIFFERENCE), figure("errors", "more errors")]) == "slower"
    assert overall([figure("p50", NO_DIFFERENCE)]) == NO_DIFFERENCE


def test_texts_format_each_kind_of_figure() -> None:
    rps = FigureComparison("rps", "throughput", 1234.56, 2469.12, 2.0, 1.9, 2.1, 0.001, "faster")
    assert rps.texts() == {"baseline_text": "1,234.6", "candidate_text": "2,469.1",
                           "ratio_text": "×2", "spread_text": "×1.9 … ×2.1"}  # fmt: skip
    p99 = FigureComparison("p99", "p99", 40.0, 20.0, 0.5, 0.45, 0.55, 0.001, "faster")
    assert p99.texts()["baseline_text"] == "40.00"
    errors = FigureComparison("errors", "error rate", 0.001, 0.02, 0.019, 0.01, 0.03, 0.0,
                              "more errors")  # fmt: skip
    assert errors.texts() == {"baseline_text": "0.1 %", "candidate_text": "2 %",
                              "ratio_text": "+1.9 pp", "spread_text": "+1 … +3 pp"}  # fmt: skip
    assert errors.as_dict()["verdict"] == "more errors"
    assert errors.as_dict()["ratio_text"] == "+1.9 pp"


def test_figure_value_reads_each_figure() -> None:
    run = summary(rps=12.5, p95=None, failures=5, requests=100)
    assert figure_value(run, "rps") == 12.5
    assert figure_value(run, "errors") == 0.05
    assert figure_value(run, "p50") == 10.0
    assert math.isnan(figure_value(run, "p95"))


def test_means_of_nothing_are_nan() -> None:
    assert math.isnan(stats._mean([]))
    assert math.isnan(stats._geomean([]))
    assert stats._geomean([0.0, 0.0]) == 0.0


# --- every line of stats.py is reached ------------------------------------------------------

CASES: list[Callable[[], None]] = [
    value for name, value in list(globals().items()) if name.startswith("test_") and callable(value)
]


def executable_lines(path: Path) -> set[int]:
    """Lines that hold a statement inside a function of ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            body = node.body[1:] if ast.get_docstring(node) else node.body
            for statement in body:
                lines |= {n.lineno for n in ast.walk(statement) if isinstance(n, ast.stmt)}
    return lines


def test_every_line_of_the_statistics_is_reached() -> None:
    path = Path(stats.__file__)
    reached: set[int] = set()

    def local(frame: FrameType, event: str, arg: object) -> Any:
        if event == "line":
            reached.add(frame.f_lineno)
        return local

    def tracer(frame: FrameType, event: str, arg: object) -> Any:
        return local if frame.f_code.co_filename == str(path) else None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        for case in CASES:
            case()
    finally:
        sys.settrace(previous)
    missed = sorted(executable_lines(path) - reached)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert missed == [], [f"{n}: {lines[n - 1].strip()}" for n in missed]
