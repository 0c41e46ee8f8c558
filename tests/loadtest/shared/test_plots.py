"""The kit's shared chart axes, read back from the matplotlib figures (no pixels compared).

A log-scale latency axis reads ``40``, ``100``, never ``4 × 10^1``; a percentile axis reads
its nines and nothing between them.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest

from spendcast.loadtest.shared.latency import LatencyHistogram
from spendcast.loadtest.shared.plots import NINES, percentile_figure
from tests.support.figures import assert_plain_milliseconds, tick_labels


def histogram(*latencies_ms: float, count: int = 200) -> LatencyHistogram:
    result = LatencyHistogram()
    for ms in latencies_ms:
        result.record_ms(ms, count)
    return result


@pytest.mark.parametrize(
    ("latencies", "within_a_decade"),
    [((25.0, 40.0, 60.0), True), ((3.0, 40.0, 900.0), False)],
)
def test_a_log_latency_axis_prints_plain_milliseconds(
    latencies: tuple[float, ...], within_a_decade: bool
) -> None:
    figure = percentile_figure([("a", histogram(*latencies), None)], "t", log_latency=True)
    assert figure.axes[0].get_yscale() == "log"
    major, minor = tick_labels(figure, "y")
    assert_plain_milliseconds(major + minor)
    if within_a_decade:
        # Inside one decade matplotlib labels minor ticks: these were "3 × 10^1", "4 × 10^1".
        assert {"30", "40"} <= set(minor), minor
    else:
        assert {"10", "100"} <= set(major), major


def test_the_percentile_axis_reads_its_nines_only() -> None:
    # Few requests: the curve stops early, and matplotlib would label minor ticks (2 × 10^0).
    figure = percentile_figure([("a", histogram(5.0, 9.0, count=3), None)], "t")
    major, minor = tick_labels(figure, "x")
    assert major == [f"{p:g}%" for p in NINES]
    assert minor == []


def test_a_linear_latency_axis_starts_at_zero() -> None:
    figure = percentile_figure([("a", histogram(5.0, 9.0), None)], "t")
    assert figure.axes[0].get_yscale() == "linear"
    assert figure.axes[0].get_ylim()[0] == 0
    plt.close(figure)
