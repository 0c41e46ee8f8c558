"""``--abort-on-fail``: end a run once an SLO is broken beyond recovery (k6's ``abortOnFail``).

Each live sample (a ``progress.jsonl`` line: exact figures since the start, once a second) is
checked against every SLO with the same ``evaluate`` as the final verdict. A broken SLO ends
the run:

- at once when no later request can mend it: a figure that only grows (``max``, ``failures``,
  ``dropped``) beyond a ``<``, ``<=`` or ``==`` bound; one that only falls (``min``) below a
  ``>``, ``>=`` or ``==`` bound; an error-rate bound of 0 (``rate==0``, ``errors<=0%``) once a
  request failed;
- otherwise (percentiles, mean, the error rate, rps: more requests move them either way) only
  in a sample taken ``grace_s`` or more into the run (``--abort-grace``, k6's
  ``delayAbortEval``): the first seconds are few samples and a ramp-up.

A figure a sample does not hold yet (no request on that endpoint) breaks nothing, and the last
sample (the run ends anyway) is never a reason to abort. Pure: the runner feeds the samples and
stops Locust when ``check`` answers an ``Abort``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from spendcast.loadtest.shared.progress import EndpointFigures, Progress, Spread
from spendcast.loadtest.shared.slo import (
    Observation,
    ObservationKey,
    Slo,
    SloResult,
    evaluate,
)

DEFAULT_GRACE_S: Final = 10
GROWING: Final = ("max", "failures", "dropped")
FALLING: Final = ("min",)


@dataclass(frozen=True)
class Abort:
    """Why a run was ended early: the SLO broken, what was seen, when and whether for good."""

    result: SloResult
    elapsed_s: float
    final: bool  # broken beyond recovery (else: still broken after the grace period)

    def as_dict(self) -> dict[str, Any]:
        return {**self.result.as_dict(), "elapsed_s": round(self.elapsed_s, 3),
                "final": self.final}  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Abort:
        """The ``abort`` of a ``summary.json`` (``as_dict``) back as an ``Abort``."""
        return cls(SloResult.from_dict(data), data["elapsed_s"], bool(data["final"]))

    def describe(self) -> str:
        when = "beyond recovery" if self.final else "after the grace period"
        return (f"aborted at {self.elapsed_s:.1f}s, {self.result.slo.expression} broken {when}: "
                f"{self.result.describe()}")  # fmt: skip


def beyond_recovery(result: SloResult) -> bool:
    """A broken ``result`` no later request can mend (see the module docstring)."""
    slo, observed = result.slo, result.observed
    if result.passed or observed is None:
        return False
    if slo.metric in GROWING:
        return slo.op in ("<", "<=", "==") and observed > slo.threshold
    if slo.metric in FALLING:
        return slo.op in (">", ">=", "==") and observed < slo.threshold
    if slo.metric == "errors":
        return slo.threshold == 0 and slo.op in ("<=", "==") and observed > 0
    return False


@dataclass(frozen=True)
class AbortRule:
    slos: tuple[Slo, ...]
    grace_s: float = DEFAULT_GRACE_S

    def check(
        self, elapsed_s: float, observations: Mapping[ObservationKey, Observation]
    ) -> Abort | None:
        """The first SLO that ends the run at ``elapsed_s`` given the live ``observations``."""
        for slo in self.slos:
            result = evaluate(slo, observations)
            if result.observed is None or result.passed:
                continue
            final = beyond_recovery(result)
            if final or elapsed_s >= self.grace_s:
                return Abort(result, elapsed_s, final)
        return None

    def percentiles(self) -> list[float]:
        """The percentiles the live samples must carry for these SLOs."""
        return sorted({p for slo in self.slos if (p := slo.percentile) is not None})


def live_observations(progress: Progress) -> dict[ObservationKey, Observation]:
    """A progress line's figures (``"GET /predict"`` keys, ``total``, ``routes``: names with
    several methods) as the observations ``evaluate`` reads; rps is the mean so far."""
    elapsed_s, endpoints = progress.elapsed, progress.endpoints
    total = progress.total or EndpointFigures(0, 0)
    result: dict[ObservationKey, Observation] = {
        None: _observation(total, elapsed_s, progress.dropped)
    }
    methods: dict[str, list[str]] = {}
    for key, figures in endpoints.items():
        method, _, name = key.partition(" ")
        result[(method, name)] = _observation(figures, elapsed_s)
        methods.setdefault(name, []).append(key)
    for name, keys in methods.items():
        merged = progress.routes.get(name) if len(keys) > 1 else endpoints[keys[0]]
        if merged is not None:
            result[("*", name)] = _observation(merged, elapsed_s)
    return result


def _observation(figures: EndpointFigures, elapsed_s: float, dropped: int = 0) -> Observation:
    spread = figures.spread or Spread(None, None, None)
    return Observation(
        requests=figures.requests,
        failures=figures.failures,
        rps=figures.requests / elapsed_s if elapsed_s > 0 else 0.0,
        percentile_ms=figures.percentile_ms,
        max_ms=spread.max_ms,
        mean_ms=spread.mean_ms,
        min_ms=spread.min_ms,
        dropped=dropped,
    )
