"""bench.report: ratios paired by repetition, spreads, CPU split labels, tables, the digest."""

from __future__ import annotations

import pytest

from bench.report import (
    Measurement,
    Ratio,
    cpu_split_label,
    format_table,
    ratio_rows,
    ratio_values,
    scenario_rows,
    spread,
    summary,
)


def run(scenario: str, repetition: int, rps: float, cpu: tuple[float, ...] = (1.0,)) -> Measurement:
    return Measurement(scenario, repetition, rps, 500, 2000, 0, int(rps), cpu, 0.5)


MEASUREMENTS = [
    run("health", 0, 10_000),
    run("predict", 0, 9_000),
    run("health", 1, 12_000),
    run("predict", 1, 9_600),
    run("predict", 2, 5_000),  # no health in repetition 2: not paired
    run("lab", 0, 0),
]


def test_ratio_pairs_runs_of_the_same_repetition() -> None:
    values = ratio_values(MEASUREMENTS, Ratio("p/h", "predict", "health"))
    assert values == pytest.approx([0.9, 0.8])


def test_ratio_skips_a_denominator_that_served_nothing() -> None:
    assert ratio_values(MEASUREMENTS, Ratio("p/lab", "predict", "lab")) == []


def test_spread() -> None:
    assert spread([3.0, 1.0, 2.0]) == spread([1.0, 2.0, 3.0])
    s = spread([3.0, 1.0, 2.0])
    assert (s.median, s.low, s.high, s.count) == (2.0, 1.0, 3.0, 3)
    assert s.label() == "2.00 [1.00-3.00]"
    assert spread([]).label() == "n/a"


def test_cpu_split_label_busiest_first() -> None:
    assert cpu_split_label((1.0, 3.0)) == "75/25"
    assert cpu_split_label((2.0,)) == "-"
    assert cpu_split_label((0.0, 0.0)) == "0/0"


def test_rows_and_table() -> None:
    rows = scenario_rows(MEASUREMENTS)
    assert [row[0] for row in rows] == ["health", "predict", "lab"]
    assert rows[1][1] == "9,000"  # median of 9,000, 9,600 and 5,000
    ratios = ratio_rows(MEASUREMENTS, [Ratio("p/h", "predict", "health", 0.85)])
    assert ratios == [["p/h", "0.85 [0.80-0.90]", ">= 0.85", "ok"]]
    table = format_table(["name", "value"], [["a", "1"], ["long name", "22"]]).splitlines()
    assert table[0] == "name       value"
    assert table[2] == "a              1"
    assert table[3] == "long name     22"


def test_summary_says_whether_each_target_is_met() -> None:
    digest = summary(
        MEASUREMENTS,
        [Ratio("p/h", "predict", "health", 0.9), Ratio("p/lab", "predict", "lab", 100)],
    )
    assert digest["ratios"]["p/h"]["met"] is False
    assert digest["ratios"]["p/lab"]["met"] is None
    assert digest["scenarios"]["predict"]["rps_median"] == 9_000
    assert digest["scenarios"]["health"]["worker_split"] == ["-", "-"]


def test_cpu_per_request() -> None:
    measurement = run("predict", 0, 10_000, cpu=(0.5, 0.3))
    assert measurement.cpu_us_per_request == pytest.approx(80.0)
    assert run("lab", 0, 0).cpu_us_per_request == 0.0
    assert measurement.as_dict()["cpu_us_per_request"] == 80.0


def test_a_cpu_ratio_with_a_ceiling() -> None:
    # predict: 1.0 s of CPU for 9,000 then 9,600 requests; hello: 1.0 s for 10,000 / 12,000
    ratio = Ratio("cpu p/h", "predict", "health", 1.15, figure="cpu_us_per_request", at_most=True)
    values = ratio_values(MEASUREMENTS, ratio)
    assert values == pytest.approx([10_000 / 9_000, 12_000 / 9_600])
    [row] = ratio_rows(MEASUREMENTS, [ratio])
    assert row[1:] == ["1.18 [1.11-1.25]", "<= 1.15", "ABOVE"]
    assert summary(MEASUREMENTS, [ratio])["ratios"]["cpu p/h"]["met"] is False
    under = Ratio("cpu p/h", "predict", "health", 1.2, figure="cpu_us_per_request", at_most=True)
    assert ratio_rows(MEASUREMENTS, [under])[0][2:] == ["<= 1.2", "ok"]


def test_the_ceiling_is_the_cores_at_the_run_s_cpu_per_request() -> None:
    # 2 cores; 40,000 requests cost 8 s of server CPU and 2 s of wrk: 4,000 per CPU-second,
    # so the cores allow 8,000 rps where 4,000 were served (the other half idled).
    two = Measurement("2w", 0, 4_000, 500, 2000, 0, 40_000, (4.0, 4.0), 2.0, cores=2)
    one = Measurement("1w", 0, 5_000, 500, 2000, 0, 50_000, (10.0,), 2.0, cores=2)
    assert two.ceiling_rps == pytest.approx(8_000)
    assert Measurement("x", 0, 1, 1, 1, 0, 1, (1.0,), 0.0).ceiling_rps == 0.0  # no cores
    allowed = Ratio("ceiling", "2w", "1w", figure="ceiling_rps", denominator_figure="rps")
    assert ratio_values([two, one], allowed) == pytest.approx([1.6])
    served = Ratio("share", "2w", "2w", denominator_figure="ceiling_rps")
    assert ratio_values([two, one], served) == pytest.approx([0.5])
