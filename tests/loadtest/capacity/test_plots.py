"""The capacity latency chart's log axis, read back from the figure: plain milliseconds."""

from __future__ import annotations

from spendcast.loadtest.capacity.plots import latency_figure
from spendcast.loadtest.shared.capacity_step import (
    GeneratorFigures,
    StepEnded,
    WindowFigures,
)
from spendcast.loadtest.shared.latency import LatencyFigures
from spendcast.loadtest.shared.search import SearchPlan
from tests.support.figures import assert_plain_milliseconds, tick_labels


def step(index: int, rps: float, p50: float, verdict: str) -> StepEnded:
    latency = LatencyFigures(p50=p50, p95=1.5 * p50, p99=2 * p50)
    figures = WindowFigures(int(rps), 0, 1.0, rps, 0.0, latency)
    return StepEnded(index, 2.0**index, "grow", 0.0, 1.0, verdict, "", True, figures,
                     GeneratorFigures(users=2**index, cpu_percent=10.0))  # fmt: skip


def test_latency_against_throughput_reads_in_milliseconds() -> None:
    steps = [step(1, 40, 20, "holds"), step(2, 48, 30, "holds"), step(3, 50, 45, "breaks")]
    figure = latency_figure(SearchPlan(slos=("p99<80ms",)), steps, steps[1])
    assert figure.axes[0].get_yscale() == "log"
    major, minor = tick_labels(figure, "y")
    # 20 to 90 ms: inside one decade, every label is a minor one (was "2 × 10^1" ...).
    assert_plain_milliseconds(major + minor)
    assert {"20", "30", "40"} <= set(minor), minor
