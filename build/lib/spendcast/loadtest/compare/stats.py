"""Did the change make it faster? Baseline and candidate figures, their ratio and a verdict.

Each figure (throughput, p50, p95, p99, error rate) gets the baseline and candidate values, the
candidate/baseline ratio and a verdict: ``faster``, ``slower`` or ``no significant difference``
(``fewer errors`` / ``more errors`` for the error rate). A difference is significant when it is
both *real* and *large enough*:

- **pairs** (interleaved runs, ``pairs.py``): each pair gives one ratio; the test is a paired
  t-test on the log ratios (``p < alpha``, 0.01: the 99 % confidence interval of the geometric
  mean ratio excludes 1) and the geometric mean ratio must differ from 1 by at least
  ``threshold`` (5 % by default). The spread shown is the lowest and highest pair ratio.
- **two run directories**: each second of a run is one sample (its request count, its p50, p95,
  p99); a Mann-Whitney U test between the two runs' seconds (``p < alpha``), and the whole-run
  ratio beyond ``threshold``. Failures: Fisher's exact test on the counts.

The error rate is compared by difference (percentage points, at least 0.1 pp), not by ratio.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from scipy import stats

ALPHA: Final = 0.01  # few pairs and five figures: keep false alarms rare
THRESHOLD: Final = 0.05
ERROR_THRESHOLD: Final = 0.001  # 0.1 percentage point
NO_DIFFERENCE: Final = "no significant difference"
# name -> (label, higher is better); ``figure_value`` reads it from a summary
FIGURES: Final = {
    "rps": ("throughput (req/s)", True),
    "p50": ("p50 latency (ms)", False),
    "p95": ("p95 latency (ms)", False),
    "p99": ("p99 latency (ms)", False),
    "errors": ("error rate", False),
}


def figure_value(summary: Mapping[str, Any], name: str) -> float:
    if name == "rps":
        return float(summary["rps"])
    if name == "errors":
        return float(summary["error_rate"])
    value = summary["latency_ms"][name]
    return math.nan if value is None else float(value)


@dataclass(frozen=True)
class FigureComparison:
    name: str
    label: str
    baseline: float
    candidate: float
    ratio: float  # candidate / baseline (difference in rate for errors)
    low: float  # spread: lowest pair ratio (or per-second ratio range)
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


def _verdict(name: str, significant: bool, effect: float) -> str:
    """``effect`` > 0: the candidate's figure is higher."""
    if not significant:
        return NO_DIFFERENCE
    higher_is_better = FIGURES[name][1]
    return _direction(name, (effect > 0) == higher_is_better)


def compare_pairs(
    baseline: Sequence[Mapping[str, Any]],
    candidate: Sequence[Mapping[str, Any]],
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
        if name == "errors":
            values = [c - b for b, c in pairs]
            effect, p_value = _mean(values), _one_sample_p(values)
            significant = abs(effect) >= ERROR_THRESHOLD and _below(p_value, alpha, values)
            ratio = effect
        else:
            values = [math.log(c / b) for b, c in pairs if b > 0 and c > 0]
            effect, p_value = _mean(values), _one_sample_p(values)
            ratio = math.exp(effect)
            significant = abs(ratio - 1) >= threshold and _below(p_value, alpha, values)
            values = [math.exp(v) for v in values]
        verdict = _verdict(name, significant, effect)
        low, high = (min(values), max(values)) if values else (math.nan, math.nan)
        result.append(FigureComparison(name, label, base, cand, ratio, low, high, p_value,
                                       verdict, pairs))  # fmt: skip
    return result


def compare_seconds(
    baseline: Mapping[str, Any],
    candidate: Mapping[str, Any],
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


def _below(p_value: float | None, alpha: float, values: Sequence[float]) -> bool:
    return p_value is not None and p_value < alpha and len(values) >= 2


def _per_second(summary: Mapping[str, Any], name: str) -> list[float]:
    rows = summary.get("timeseries", [])[1:-1]  # the first and last seconds are partial
    return [float(row[name]) for row in rows if row.get(name) is not None]


def _quartile_ratio(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """The ratio of the candidate's quartiles to the baseline's: a spread for single runs."""
    if len(a) < 2 or len(b) < 2:
        return math.nan, math.nan
    qa = stats.mstats.mquantiles(a, [0.25, 0.75])
    qb = stats.mstats.mquantiles(b, [0.25, 0.75])
    ratios = [float(qb[i] / qa[i]) for i in range(2) if qa[i] > 0]
    return (min(ratios), max(ratios)) if ratios else (math.nan, math.nan)


def _fisher(baseline: Mapping[str, Any], candidate: Mapping[str, Any]) -> float | None:
    table = [
        [int(baseline["failures"]), int(baseline["requests"]) - int(baseline["failures"])],
        [int(candidate["failures"]), int(candidate["requests"]) - int(candidate["failures"])],
    ]
    if table[0][0] + table[1][0] == 0:
        return 1.0
    return float(stats.fisher_exact(table).pvalue)
