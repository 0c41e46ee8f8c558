"""Did the change make it faster? Baseline and candidate figures, their ratio and a verdict.

Each figure (throughput, p50, p95, p99, error rate) gets the baseline and candidate values, the
candidate/baseline ratio and a verdict: ``faster``, ``slower`` or ``no significant difference``
(``fewer errors`` / ``more errors`` for the error rate). A difference is significant when it is
both *real* and *large enough*:

- **pairs** (interleaved runs, ``pairs.py``): each pair gives one ratio; the test is a paired
  t-test on the log ratios (``p < alpha``, 0.01: the 99 % confidence interval of the geometric
  mean ratio excludes 1) and the geometric mean ratio must differ from 1 by at least
  ``threshold`` (5 % by default). The spread shown is that confidence interval, so it
  excludes 1 exactly when the test says the difference is real; a real difference under the
  threshold is ``SMALL``, not ``no significant difference``. With 2 pairs the test has one
  degree of freedom (t > 63.7 at 0.01): almost never significant, so ``compare --pairs``
  takes 3 or more.
- **two run directories**: each second of a run is one sample (its request count, its p50, p95,
  p99); a Mann-Whitney U test between the two runs' seconds (``p < alpha``), and the whole-run
  ratio beyond ``threshold``. Failures: Fisher's exact test on the counts.

The error rate is compared by difference (percentage points, at least 0.1 pp), not by ratio.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from scipy import stats

from spendcast.loadtest.shared.run_summary import Summary
from spendcast.loadtest.shared.summary_figures import Second

ALPHA: Final = 0.01  # few pairs and five figures: keep false alarms rare
THRESHOLD: Final = 0.05
ERROR_THRESHOLD: Final = 0.001  # 0.1 percentage point
NO_DIFFERENCE: Final = "no significant difference"
SMALL: Final = "real but under the threshold"
# name -> (label, higher is better); ``figure_value`` reads it from a summary
FIGURES: Final = {
    "rps": ("throughput (req/s)", True),
    "p50": ("p50 latency (ms)", False),
    "p95": ("p95 latency (ms)", False),
    "p99": ("p99 latency (ms)", False),
    "errors": ("error rate", False),
}


def figure_value(summary: Summary, name: str) -> float:
    if name == "rps":
        return float(summary.total.rps)
    if name == "errors":
        return float(summary.total.error_rate)
    value = summary.total.latency_ms.named(name)
    return math.nan if value is None else float(value)


@dataclass(frozen=True)
class FigureComparison:
    name: str
    label: str
    baseline: float
    candidate: float
    ratio: float  # candidate / baseline (difference in rate for errors)
    low: float  # spread: the confidence interval of the ratio (per-second quartile ratios)
    high: float
    p_value: float | None
    verdict: str
    per_pair: list[tuple[float, float]] = field(default_factory=list)

    def texts(self) -> dict[str, str]:
        if self.name == "errors":
            return {
                "baseline_text": f"{self.baseline * 100:.3g} %",
                "candidate_text": f"{self.candidate * 100:.3g} %",
                "ratio_text": f"{self.ratio * 100:+.3g} pp",
                "spread_text": f"{self.low * 100:+.3g} … {self.high * 100:+.3g} pp",
            }
        digits = ",.1f" if self.name == "rps" else ",.2f"
        return {
            "baseline_text": format(self.baseline, digits),
            "candidate_text": format(self.candidate, digits),
            "ratio_text": f"×{self.ratio:.3g}",
            "spread_text": f"×{self.low:.3g} … ×{self.high:.3g}",
        }

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), **self.texts()}


def _direction(name: str, better: bool) -> str:
    if name == "errors":
        return "fewer errors" if better else "more errors"
    return "faster" if better else "slower"


def _verdict(name: str, significant: bool, effect: float, real: bool = False) -> str:
    """``effect`` > 0: the candidate's figure is higher; ``real``: the test alone says so."""
    if not significant:
        return SMALL if real else NO_DIFFERENCE
    higher_is_better = FIGURES[name][1]
    return _direction(name, (effect > 0) == higher_is_better)


def compare_pairs(
    baseline: Sequence[Summary],
    candidate: Sequence[Summary],
    *,
    alpha: float = ALPHA,
    threshold: float = THRESHOLD,
) -> list[FigureComparison]:
    """Compare interleaved runs pair by pair (``baseline[i]`` ran next to ``candidate[i]``)."""
    result = []
    for name, (label, _) in FIGURES.items():
        pairs = [(figure_value(b, name), figure_value(c, name))
                 for b, c in zip(baseline, candidate, strict=True)]  # fmt: skip
        pairs = [(b, c) for b, c in pairs if not (math.isnan(b) or math.isnan(c))]
        base = _geomean([b for b, _ in pairs]) if name != "errors" else _mean([b for b, _ in pairs])
        cand = _geomean([c for _, c in pairs]) if name != "errors" else _mean([c for _, c in pairs])
        real = False
        if name == "errors":
            values = [c - b for b, c in pairs]
            effect, p_value = _mean(values), _one_sample_p(values)
            significant = abs(effect) >= ERROR_THRESHOLD and _below(p_value, alpha, values)
            ratio = effect
            low, high = _interval(values, alpha)
        else:
            values = [math.log(c / b) for b, c in pairs if b > 0 and c > 0]
            effect, p_value = _mean(values), _one_sample_p(values)
            ratio = math.exp(effect)
            real = _below(p_value, alpha, values)
            significant = abs(ratio - 1) >= threshold and real
            low, high = (math.exp(bound) for bound in _interval(values, alpha))
        verdict = _verdict(name, significant, effect, real)
        result.append(FigureComparison(name, label, base, cand, ratio, low, high, p_value,
                                       verdict, pairs))  # fmt: skip
    return result


def compare_seconds(
    baseline: Summary,
    candidate: Summary,
    *,
    alpha: float = ALPHA,
    threshold: float = THRESHOLD,
) -> list[FigureComparison]:
    """Compare two single runs, each of their full seconds being one sample."""
    result = []
    for name, (label, _) in FIGURES.items():
        base, cand = figure_value(baseline, name), figure_value(candidate, name)
        if name == "errors":
            p_value = _fisher(baseline, candidate)
            effect = cand - base
            significant = abs(effect) >= ERROR_THRESHOLD and p_value is not None and p_value < alpha
            verdict = _verdict(name, significant, effect)
            result.append(FigureComparison(name, label, base, cand, effect, effect, effect,
                                           p_value, verdict, [(base, cand)]))  # fmt: skip
            continue
        a, b = _per_second(baseline, name), _per_second(candidate, name)
        p_value = None
        if len(a) >= 3 and len(b) >= 3 and len(set(a) | set(b)) > 1:
            p_value = float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)
        ratio = cand / base if base > 0 else math.nan
        significant = p_value is not None and p_value < alpha and abs(ratio - 1) >= threshold
        low, high = _quartile_ratio(a, b)
        verdict = _verdict(name, significant, ratio - 1)
        result.append(FigureComparison(name, label, base, cand, ratio, low, high, p_value,
                                       verdict, [(base, cand)]))  # fmt: skip
    return result


def overall(figures: Sequence[FigureComparison]) -> str:
    """``faster`` / ``slower`` when every significant figure agrees, ``mixed`` otherwise."""
    better = [f.name for f in figures if f.verdict in ("faster", "fewer errors")]
    worse = [f.name for f in figures if f.verdict in ("slower", "more errors")]
    if better and worse:
        return f"mixed: better on {', '.join(better)}, worse on {', '.join(worse)}"
    if better:
        return "faster"
    if worse:
        return "slower"
    return NO_DIFFERENCE


def headline(figures: Sequence[FigureComparison], baseline: str, candidate: str) -> str:
    verdict = overall(figures)
    by_name = {f.name: f for f in figures}
    rps, p99 = by_name["rps"], by_name["p99"]
    detail = (f"throughput {rps.baseline:,.1f} → {rps.candidate:,.1f} req/s (×{rps.ratio:.3g}), "
              f"p99 {p99.baseline:,.1f} → {p99.candidate:,.1f} ms (×{p99.ratio:.3g})")  # fmt: skip
    if verdict == NO_DIFFERENCE:
        return f"{candidate} vs {baseline}: no significant difference; {detail}"
    return f"{candidate} is {verdict} than {baseline}: {detail}"


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def _geomean(values: Sequence[float]) -> float:
    positive = [v for v in values if v > 0]
    if not positive:
        return _mean(values)
    return math.exp(_mean([math.log(v) for v in positive]))


def _one_sample_p(values: Sequence[float]) -> float | None:
    """Two-sided p-value of a one-sample t-test of ``values`` against 0."""
    if len(values) < 2:
        return None
    # Every pair agrees (to rounding: 0.8 * x / x is not always 0.8): no spread to test.
    if math.isclose(min(values), max(values), rel_tol=1e-9, abs_tol=1e-12):
        return 1.0 if math.isclose(values[0], 0.0, abs_tol=1e-12) else 0.0
    return float(stats.ttest_1samp(values, 0.0).pvalue)


def _interval(values: Sequence[float], alpha: float) -> tuple[float, float]:
    """The ``1 - alpha`` confidence interval of the mean of ``values`` (Student's t): it
    excludes 0 exactly when the one-sample t-test's p is under ``alpha``."""
    if len(values) < 2:
        return math.nan, math.nan
    mean = _mean(values)
    if math.isclose(min(values), max(values), rel_tol=1e-9, abs_tol=1e-12):
        return mean, mean
    half = float(stats.t.ppf(1 - alpha / 2, len(values) - 1) * stats.sem(values))
    return mean - half, mean + half


def _below(p_value: float | None, alpha: float, values: Sequence[float]) -> bool:
    return p_value is not None and p_value < alpha and len(values) >= 2


def _per_second(summary: Summary, name: str) -> list[float]:
    rows = summary.timeseries
    # the measured window's whole seconds (run.window); written before: cut the partial ends
    windowed = bool(rows) and rows[0].sample is not None
    rows = tuple(row for row in rows if row.sample) if windowed else rows[1:-1]
    values = [_second_value(row, name) for row in rows]
    return [value for value in values if value is not None]


def _second_value(row: Second, name: str) -> float | None:
    value = {"rps": row.rps, "p50": row.p50, "p95": row.p95, "p99": row.p99}[name]
    return None if value is None else float(value)


def _quartile_ratio(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """The ratio of the candidate's quartiles to the baseline's: a spread for single runs."""
    if len(a) < 2 or len(b) < 2:
        return math.nan, math.nan
    qa = stats.mstats.mquantiles(a, [0.25, 0.75])
    qb = stats.mstats.mquantiles(b, [0.25, 0.75])
    ratios = [float(qb[i] / qa[i]) for i in range(2) if qa[i] > 0]
    return (min(ratios), max(ratios)) if ratios else (math.nan, math.nan)


def _fisher(baseline: Summary, candidate: Summary) -> float | None:
    table = [[run.total.failures, run.total.requests - run.total.failures]
             for run in (baseline, candidate)]  # fmt: skip
    if table[0][0] + table[1][0] == 0:
        return 1.0
    return float(stats.fisher_exact(table).pvalue)
