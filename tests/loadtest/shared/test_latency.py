"""HDR percentiles against numpy's exact ones on synthetic latencies.

HDR with 3 significant digits keeps every value within 0.1 % (RELATIVE_PRECISION): it reports
the highest value of the recorded sample's bucket, so ``exact <= hdr <= exact * 1.001``.
Both sides use the nearest-rank definition (the sample of rank ceil(p/100 * n)); with 200,000
samples every tested rank is an integer, where HDR's rounding of the rank agrees with the
ceiling.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import numpy.typing as npt
import pytest

from spendcast.loadtest.shared.latency import RELATIVE_PRECISION, LatencyHistogram, percentile_key

PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9, 99.99)


def _latencies_us(seed: int, n: int = 200_000) -> npt.NDArray[np.int64]:
    rng = np.random.default_rng(seed)
    body = rng.lognormal(mean=np.log(3_000), sigma=0.6, size=n)  # ~3 ms typical
    tail = rng.pareto(1.5, size=n) * 20_000  # a heavy tail up to seconds
    mixed = np.where(rng.random(n) < 0.97, body, body + tail)
    return np.clip(np.round(mixed), 1, 3_600_000_000).astype(np.int64)


def _exact_us(values: npt.NDArray[np.int64], percentile: float) -> float:
    """Nearest rank on numpy's sorted samples, the rank computed exactly: numpy's own
    ``inverted_cdf`` computes p·n in floating point, and 99.9 % of 200,000 comes out as
    199800.00000000003, one rank too far."""
    rank = max(1, math.ceil(Fraction(str(percentile)) * len(values) / 100))
    return float(np.sort(values)[rank - 1])


def _histogram(values_us: npt.NDArray[np.int64]) -> LatencyHistogram:
    histogram = LatencyHistogram()
    for value in values_us:
        histogram.record_ms(int(value) / 1000.0)
    return histogram


def _within_precision(reported_ms: float | None, exact_us: float) -> None:
    assert reported_ms is not None
    reported_us = reported_ms * 1000.0
    assert exact_us - 1e-6 <= reported_us <= exact_us * (1 + RELATIVE_PRECISION) + 1e-6


@pytest.mark.parametrize("seed", [1, 2])
def test_percentiles_match_numpy_within_hdr_precision(seed: int) -> None:
    values = _latencies_us(seed)
    histogram = _histogram(values)
    assert histogram.count == len(values)
    for percentile in PERCENTILES:
        exact = _exact_us(values, percentile)
        _within_precision(histogram.percentile_ms(percentile), exact)
    _within_precision(histogram.max_ms(), float(values.max()))
    mean = histogram.mean_ms()
    assert mean is not None
    assert mean * 1000 == pytest.approx(float(values.mean()), rel=RELATIVE_PRECISION)


def test_stats_report_the_summary_percentiles() -> None:
    values = _latencies_us(3, n=100_000)
    stats = _histogram(values).stats()
    assert stats.count == 100_000
    for percentile in (50.0, 90.0, 95.0, 99.0, 99.9):
        exact = _exact_us(values, percentile)
        _within_precision(getattr(stats, percentile_key(percentile)), exact)


def test_encode_decode_merge_equal_one_histogram() -> None:
    values = _latencies_us(4, n=30_000)
    whole = _histogram(values)
    parts = [_histogram(chunk) for chunk in np.array_split(values, 3)]
    decoded = [LatencyHistogram.decode(part.encode()) for part in parts]
    merged = LatencyHistogram.merged(decoded)
    assert merged.stats() == whole.stats()
    assert LatencyHistogram.decode(whole.encode()).stats() == whole.stats()


def test_empty_histogram() -> None:
    empty = LatencyHistogram.decode(LatencyHistogram().encode())
    stats = empty.stats()
    assert stats.count == 0
    assert stats.p50 is None
    assert stats.max is None
    assert stats.mean is None


def test_values_are_clamped_to_the_trackable_range() -> None:
    histogram = LatencyHistogram()
    histogram.record_ms(0.0)  # a 0 ms answer still counts, as 1 µs
    histogram.record_ms(10 * 3_600_000.0)  # ten hours, kept as one hour
    assert histogram.count == 2
    assert histogram.percentile_ms(1) == 0.001
    max_ms = histogram.max_ms()
    assert max_ms is not None
    assert 3_600_000 <= max_ms <= 3_600_000 * (1 + RELATIVE_PRECISION)


def test_percentile_keys() -> None:
    assert [percentile_key(p) for p in (50.0, 99.0, 99.9)] == ["p50", "p99", "p99_9"]


def _bucket_edges_ms() -> list[float]:
    """Every HDR bucket edge of 1 µs .. 1 h (powers of two, one below, one above), half-µs
    ties (rounded to even), and values outside the range (clamped)."""
    edges_us = [v for k in range(33) for v in (2**k - 1, 2**k, 2**k + 1)]
    ties_us = [0.5, 1.5, 2.5, 2047.5, 2048.5, 4097.5]
    outside_ms = [0.0, -3.0, 0.0004, 3_600_000.0, 3_600_000.001, 10 * 3_600_000.0]
    return [v / 1000.0 for v in edges_us + ties_us] + outside_ms


@pytest.mark.parametrize("source", ["edges", "latencies"])
def test_bulk_recording_equals_one_call_per_value(source: str) -> None:
    if source == "edges":
        values_ms = _bucket_edges_ms()
    else:  # fractional microseconds, a heavy tail
        values_ms = (_latencies_us(5, n=50_000) / 1000.0 + 0.0004).tolist()
    one_by_one, bulk = LatencyHistogram(), LatencyHistogram()
    for value in values_ms:
        one_by_one.record_ms(value)
    bulk.record_all_ms(values_ms[: len(values_ms) // 2])
    bulk.record_all_ms(values_ms[len(values_ms) // 2 :])
    bulk.record_all_ms([])
    assert bulk.count == one_by_one.count == len(values_ms)
    assert bulk.encode() == one_by_one.encode()
    assert bulk.stats() == one_by_one.stats()
    assert bulk.percentile_ms(0) == one_by_one.percentile_ms(0)  # the same minimum
    # the values reached every bucket of the range, both clamps included
    max_ms = bulk.max_ms()
    assert max_ms is not None
    if source == "edges":
        assert bulk.percentile_ms(0) == 0.001
        assert max_ms >= 3_600_000
    else:
        assert max_ms > 2.048  # beyond the first, exact bucket


def test_without_is_what_was_recorded_since_the_copy() -> None:
    histogram = LatencyHistogram()
    histogram.record_all_ms([1.0, 2.0, 3.0, 900.0])
    before = LatencyHistogram.merged([histogram])
    later = [5.0, 7.0, 250.5, 40.25]
    histogram.record_all_ms(later)
    alone = LatencyHistogram()
    alone.record_all_ms(later)
    since = histogram.without(before)
    assert since.stats() == alone.stats()
    assert since.min_ms() == alone.min_ms()
    assert histogram.without(histogram).count == 0
