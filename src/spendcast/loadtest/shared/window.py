"""The window a run's figures cover: after the warm-up, whole seconds, and its time slices.

Every figure of ``summary.json`` (per endpoint, the total, stages, SLOs) covers the measured
window: from the end of ``--warmup`` (a whole epoch second, ``recording.warmup_until``) to the
run's stop. The per-second series keeps every second, but marks the warm-up's and the partial
ones (the first and the last, cut by the start and the stop): plots shade them, and nothing that
treats a second as a sample (``compare``, slices, drift) takes them.

``--slice DURATION`` cuts the window into consecutive slices of whole seconds, each with its
exact figures (the per-second HDR histograms merged), the last one possibly shorter. The drift
line compares the first whole slice with the last whole one: their per-second p99s are two
samples, and the p99 drifted when a Mann-Whitney U test tells them apart (two-sided,
p < 0.01) *and* the two slices' p99s differ by more than ``DRIFT_MIN_CHANGE`` (20 %): the first
condition says the change is beyond the run's own second-to-second noise, the second that it is
worth a look. With fewer than 5 seconds with requests in either slice no test can reach
p < 0.01, and no drift is judged (``drift`` is null).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from spendcast.loadtest.shared.recording_file import LoadedRecording
from spendcast.loadtest.shared.summary_figures import Drift
from spendcast.loadtest.shared.tally import Tally

DRIFT_ALPHA: Final = 0.01
DRIFT_MIN_CHANGE: Final = 0.20
DRIFT_MIN_SECONDS: Final = 5  # per-second samples each slice needs for a drift verdict


def whole_seconds(recording: LoadedRecording) -> range:
    """The epoch seconds wholly inside the measured window (after the warm-up, none cut)."""
    return range(math.ceil(recording.window_start), math.floor(recording.stopped_at))


def is_sample(recording: LoadedRecording, second: int) -> bool:
    """``second`` is a whole second of the measured window (a data point)."""
    return second in whole_seconds(recording)


@dataclass(frozen=True)
class Slice:
    index: int
    start: int  # epoch second
    end: int  # epoch second, excluded
    tally: Tally
    p99_per_second: tuple[float, ...]


def slices(recording: LoadedRecording, slice_s: int) -> list[Slice]:
    """The measured window's whole seconds cut every ``slice_s`` seconds."""
    seconds = whole_seconds(recording)
    result = []
    for index, start in enumerate(range(seconds.start, seconds.stop, slice_s)):
        end = min(start + slice_s, seconds.stop)
        tally = Tally()
        p99s = []
        for second in range(start, end):
            per_second = recording.seconds.get(second)
            if per_second is None or not per_second.requests:
                continue
            tally.merge(per_second)
            p99 = per_second.histogram.percentile_ms(99.0)
            if p99 is not None:
                p99s.append(p99)
        result.append(Slice(index, start, end, tally, tuple(p99s)))
    return result


def drift(parts: list[Slice]) -> Drift | None:
    """The p99 drift between the first and the last whole slice, or ``None`` when it cannot be
    judged (fewer than two whole slices, too few seconds with requests in either)."""
    length = max((part.end - part.start for part in parts), default=0)
    whole = [part for part in parts if part.end - part.start == length]
    if len(whole) < 2:
        return None
    first, last = whole[0], whole[-1]
    if min(len(first.p99_per_second), len(last.p99_per_second)) < DRIFT_MIN_SECONDS:
        return None
    before = first.tally.histogram.percentile_ms(99.0)
    after = last.tally.histogram.percentile_ms(99.0)
    if before is None or after is None or before <= 0:
        return None
    # Imported here: scipy.stats costs a second of CPU at every start of the CLI, and only a
    # run with slices ever reaches this line.
    from scipy.stats import mannwhitneyu

    p_value = float(
        mannwhitneyu(first.p99_per_second, last.p99_per_second, alternative="two-sided").pvalue
    )
    change = after / before - 1
    return Drift(
        first_ms=round(before, 3),
        last_ms=round(after, 3),
        change=round(change, 4),
        p_value=round(p_value, 6),
        drifted=p_value < DRIFT_ALPHA and abs(change) > DRIFT_MIN_CHANGE,
    )
