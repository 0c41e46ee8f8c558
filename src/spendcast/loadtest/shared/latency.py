"""Exact latency statistics: an HdrHistogram in microseconds (1 µs .. 1 h, 3 significant digits).

Every recorded value keeps a relative precision of 0.1 %: a reported percentile is the highest
value equivalent to the recorded sample at that rank, so it is at most 0.1 % above it (values
below 2.048 ms are exact to the microsecond). Percentiles use HDR's nearest-rank definition:
the sample of rank ``max(1, round(p/100 * count))`` in ascending order.

Histograms encode to HDR's compressed base64 form, so histograms recorded by distributed
workers (or by several runs) can be sent, stored and merged without losing precision.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, Final

import numpy as np
from hdrh.histogram import HdrHistogram

LOWEST_US: Final = 1
HIGHEST_US: Final = 3_600_000_000  # one hour
SIGNIFICANT_FIGURES: Final = 3
RELATIVE_PRECISION: Final = 0.001

# The percentiles every summary reports, and their key in JSON ("p99_9" for 99.9).
PERCENTILES: Final[tuple[float, ...]] = (50.0, 90.0, 95.0, 99.0, 99.9)


def percentile_key(percentile: float) -> str:
    """``50.0 -> "p50"``, ``99.9 -> "p99_9"``: a name usable as a JSON key or attribute."""
    text = f"{percentile:g}".replace(".", "_")
    return f"p{text}"


@dataclass(frozen=True)
class LatencyStats:
    """Latency figures in milliseconds; ``None`` when nothing was recorded."""

    count: int
    p50: float | None
    p90: float | None
    p95: float | None
    p99: float | None
    p99_9: float | None
    max: float | None
    mean: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)


@dataclass(frozen=True)
class LatencyFigures:
    """Latency in ms to the microsecond, as JSON files hold it (``latency_ms`` of a capacity
    step's figures, and of ``summary.json``'s); ``None`` when nothing was recorded."""

    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    p99_9: float | None = None
    max: float | None = None
    mean: float | None = None

    @classmethod
    def of(cls, stats: LatencyStats) -> LatencyFigures:
        return cls(_rounded(stats.p50), _rounded(stats.p90), _rounded(stats.p95),
                   _rounded(stats.p99), _rounded(stats.p99_9), _rounded(stats.max),
                   _rounded(stats.mean))  # fmt: skip

    def percentile_ms(self, percentile: float) -> float | None:
        """One of the percentiles kept (50, 90, 95, 99, 99.9); ``None`` for any other."""
        kept = {50.0: self.p50, 90.0: self.p90, 95.0: self.p95, 99.0: self.p99,
                99.9: self.p99_9}  # fmt: skip
        return kept.get(float(percentile))

    def named(self, name: str) -> float | None:
        """The figure called ``name`` in the files (``"p99_9"``, ``"max"``); ``KeyError`` for
        no such figure."""
        return self.to_json()[name]

    def to_json(self) -> dict[str, float | None]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LatencyFigures:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


class LatencyHistogram:
    """Response times of one endpoint (or of all), recorded in whole microseconds."""

    def __init__(self, histogram: HdrHistogram | None = None) -> None:
        self._histogram = histogram or HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_FIGURES)

    def record_ms(self, milliseconds: float, count: int = 1) -> None:
        """Record a response time given in milliseconds (Locust's unit), clamped to 1 µs .. 1 h."""
        micros = min(max(round(milliseconds * 1000.0), LOWEST_US), HIGHEST_US)
        self._histogram.record_value(micros, count)

    def record_all_ms(self, milliseconds: Sequence[float]) -> None:
        """Record many response times at once: the same counts, minimum and maximum as
        ``record_ms`` on each, computed in a few numpy passes instead of a call per value."""
        if not milliseconds:
            return
        micros = np.clip(
            np.rint(np.asarray(milliseconds, dtype=np.float64) * 1000.0), LOWEST_US, HIGHEST_US
        ).astype(np.int64)
        histogram = self._histogram
        # HdrHistogram._counts_index_for, vectorised: the bucket is given by the highest set
        # bit (frexp's exponent is the bit length, exact below 2**53), the sub-bucket by the
        # value's top bits within it.
        bits = np.frexp((micros | histogram.sub_bucket_mask).astype(np.float64))[1]
        bucket = bits - histogram.unit_magnitude - (histogram.sub_bucket_half_count_magnitude + 1)
        sub_bucket = micros >> (bucket + histogram.unit_magnitude)
        index = (
            ((bucket + 1) << histogram.sub_bucket_half_count_magnitude)
            + sub_bucket
            - histogram.sub_bucket_half_count
        )
        counts = np.ctypeslib.as_array(histogram.counts)[: histogram.counts_len]
        counts += np.bincount(index, minlength=histogram.counts_len).astype(counts.dtype)
        histogram.total_count += int(micros.size)
        histogram.min_value = min(histogram.min_value, int(micros.min()))
        histogram.max_value = max(histogram.max_value, int(micros.max()))

    @property
    def count(self) -> int:
        total: int = self._histogram.get_total_count()
        return total

    def percentile_ms(self, percentile: float) -> float | None:
        """The latency at ``percentile`` (0..100) in ms, or ``None`` when empty."""
        if self.count == 0:
            return None
        return float(self._histogram.get_value_at_percentile(percentile)) / 1000.0

    def percentiles_ms(self, percentiles: Sequence[float]) -> dict[float, float | None]:
        """Several percentiles in one pass over the counts."""
        if self.count == 0:
            return dict.fromkeys(percentiles)
        values = self._histogram.get_percentile_to_value_dict(list(percentiles))
        return {p: float(values[p]) / 1000.0 for p in percentiles}

    def max_ms(self) -> float | None:
        return None if self.count == 0 else float(self._histogram.get_max_value()) / 1000.0

    def min_ms(self) -> float | None:
        return None if self.count == 0 else float(self._histogram.get_min_value()) / 1000.0

    def mean_ms(self) -> float | None:
        """The mean, each value taken as the middle of its equivalence range (as HDR does)."""
        if self.count == 0:
            return None
        # hdrh's own get_mean_value walks every bucket in Python; only non-empty ones matter here.
        histogram = self._histogram
        counts = np.ctypeslib.as_array(histogram.counts)[: histogram.counts_len]
        total = 0
        for index in np.flatnonzero(counts):
            value = histogram.get_value_from_index(int(index))
            total += int(counts[index]) * histogram._hdr_median_equiv_value(value)
        return float(total) / self.count / 1000.0

    def stats(self) -> LatencyStats:
        values = self.percentiles_ms(PERCENTILES)
        return LatencyStats(
            count=self.count,
            p50=values[50.0],
            p90=values[90.0],
            p95=values[95.0],
            p99=values[99.0],
            p99_9=values[99.9],
            max=self.max_ms(),
            mean=self.mean_ms(),
        )

    def encode(self) -> str:
        """HDR's compressed, base64 text form (the V2 encoding every HDR library reads)."""
        encoded: bytes = self._histogram.encode()
        return encoded.decode("ascii")

    @classmethod
    def decode(cls, encoded: str) -> LatencyHistogram:
        histogram = cls()
        if encoded:
            histogram._histogram.decode_and_add(encoded.encode("ascii"))
        return histogram

    def merge(self, other: LatencyHistogram) -> None:
        """Add every value ``other`` recorded into this histogram."""
        self._histogram.add(other._histogram)

    def without(self, earlier: LatencyHistogram) -> LatencyHistogram:
        """What was recorded since ``earlier``, a copy of this histogram taken before: the
        counts subtracted (exact), the minimum and maximum those of the buckets left."""
        mine, theirs = self._histogram, earlier._histogram
        counts = np.ctypeslib.as_array(mine.counts)[: mine.counts_len].astype(np.int64)
        counts -= np.ctypeslib.as_array(theirs.counts)[: theirs.counts_len].astype(np.int64)
        result = LatencyHistogram()
        histogram = result._histogram
        nonzero = np.flatnonzero(counts > 0)
        if nonzero.size:
            target = np.ctypeslib.as_array(histogram.counts)[: histogram.counts_len]
            target[nonzero] = counts[nonzero]
            histogram.total_count = int(counts[nonzero].sum())
            histogram.min_value = int(histogram.get_value_from_index(int(nonzero[0])))
            histogram.max_value = int(histogram.get_value_from_index(int(nonzero[-1])))
        return result

    @classmethod
    def merged(cls, histograms: Iterable[LatencyHistogram]) -> LatencyHistogram:
        total = cls()
        for histogram in histograms:
            total.merge(histogram)
        return total
