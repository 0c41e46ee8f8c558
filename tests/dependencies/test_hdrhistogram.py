"""hdrhistogram internals read by spendcast.loadtest.shared.latency (bounded: hdrhistogram<0.11)."""

from __future__ import annotations

import pytest
from hdrh.histogram import HdrHistogram

from spendcast.loadtest.shared.latency import (
    HIGHEST_US,
    LOWEST_US,
    SIGNIFICANT_FIGURES,
    LatencyHistogram,
)


@pytest.mark.parametrize(
    "internal", ["counts", "counts_len", "get_value_from_index", "_hdr_median_equiv_value"]
)
def test_the_fields_mean_ms_walks_are_there(internal: str) -> None:
    histogram = HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_FIGURES)
    assert hasattr(histogram, internal), (
        f"hdrhistogram moved HdrHistogram.{internal}: LatencyHistogram.mean_ms reads it"
    )


def test_mean_ms_over_the_internals_equals_hdrh_own_mean() -> None:
    latencies = LatencyHistogram()
    for milliseconds in (0.25, 1.0, 1.5, 3.0, 42.0, 900.0, 12_345.0):
        latencies.record_ms(milliseconds, count=3)
    mean = latencies.mean_ms()
    own = latencies._histogram.get_mean_value() / 1000.0
    assert mean == pytest.approx(own, rel=1e-12), (
        "hdrhistogram changed counts / counts_len / _hdr_median_equiv_value: "
        f"LatencyHistogram.mean_ms() gives {mean}, HdrHistogram.get_mean_value() {own}"
    )
