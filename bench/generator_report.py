"""Pure summaries of the generator benchmark: per-run figures, ratios paired by round, tables.

The figure of merit is **requests per Locust CPU-second**: requests the server answered in
the measuring window divided by the CPU time (user + system, every thread, every Locust
process of the tree) the generator used in that same window. It barely moves when other
programs load the machine, unlike requests per second, which is reported beside it.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final

from bench.report import spread

TARGET: Final = 0.97  # spendcast / plain, requests per Locust CPU-second


@dataclass(frozen=True)
class Run:
    """One generator on one case in one round, over its measuring window."""

    generator: str  # "plain" | "spendcast"
    case: str
    round: int
    requests: int  # answered by the server in the window
    window_s: float
    locust_cpu_s: float  # every Locust process of the generator, in the window
    parent_cpu_s: float  # the `spendcast loadtest` process around Locust (0 for plain)
    server_cpu_s: float
    other_cpu_s: float  # the rest of the machine meanwhile: noise
    # Voluntary context switches of the Locust processes in the window: the blocking waits of
    # their event loops (what an even open-model stream pays per request, ~25-30 us each here)
    locust_waits: int = 0

    @property
    def rps(self) -> float:
        return self.requests / self.window_s if self.window_s > 0 else 0.0

    @property
    def per_cpu_s(self) -> float:
        """Requests per Locust CPU-second."""
        return self.requests / self.locust_cpu_s if self.locust_cpu_s > 0 else 0.0

    @property
    def waits_per_request(self) -> float:
        return self.locust_waits / self.requests if self.requests > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "rps": round(self.rps, 1),
            "requests_per_cpu_s": round(self.per_cpu_s, 1),
            "waits_per_request": round(self.waits_per_request, 3),
        }


def run_figures(runs: Sequence[Run]) -> dict[str, tuple[float, ...]]:
    """Requests per Locust CPU-second of each generator and case, one value per round
    (results.json's figures: what ``--baseline`` pairs)."""
    figures: dict[str, list[float]] = {}
    for run in sorted(runs, key=lambda r: r.round):
        name = f"{run.generator} {run.case}: requests per cpu-s"
        figures.setdefault(name, []).append(round(run.per_cpu_s, 1))
        name = f"{run.generator} {run.case}: locust waits per request"
        figures.setdefault(name, []).append(round(run.waits_per_request, 3))
    return {name: tuple(values) for name, values in figures.items()}


def paired(runs: Sequence[Run], case: str, figure: str) -> list[float]:
    """``spendcast / plain`` of ``figure`` ("rps" or "per_cpu_s"), one per round run by both."""
    by_round: dict[int, dict[str, float]] = {}
    for run in runs:
        if run.case == case:
            by_round.setdefault(run.round, {})[run.generator] = getattr(run, figure)
    return [
        pair["spendcast"] / pair["plain"]
        for _, pair in sorted(by_round.items())
        if pair.get("plain") and "spendcast" in pair
    ]


def _cases(runs: Sequence[Run]) -> list[str]:
    return list(dict.fromkeys(run.case for run in runs))


RUN_HEADER = [
    "generator", "case", "rps", "rps range", "req per cpu-s", "req/cpu-s range",
    "locust cpu %", "waits/req", "parent cpu %", "server cpu %", "other cpu s",
]  # fmt: skip
RATIO_HEADER = ["spendcast / plain", "req per cpu-s", "req/s", "target", ""]


def run_rows(runs: Sequence[Run]) -> list[list[str]]:
    """One row per generator and case: medians and ranges over rounds, CPU as % of the window."""
    rows = []
    for case in _cases(runs):
        for generator in dict.fromkeys(run.generator for run in runs):
            mine = [r for r in runs if r.case == case and r.generator == generator]
            if not mine:
                continue
            rps = spread([r.rps for r in mine])
            per_cpu = spread([r.per_cpu_s for r in mine])

            def share(seconds: float, run: Run) -> float:
                return 100 * seconds / run.window_s

            rows.append([
                generator, case, f"{rps.median:,.0f}", f"{rps.low:,.0f}-{rps.high:,.0f}",
                f"{per_cpu.median:,.0f}", f"{per_cpu.low:,.0f}-{per_cpu.high:,.0f}",
                f"{statistics.median(share(r.locust_cpu_s, r) for r in mine):.0f}",
                f"{statistics.median(r.waits_per_request for r in mine):.2f}",
                f"{statistics.median(share(r.parent_cpu_s, r) for r in mine):.1f}",
                f"{statistics.median(share(r.server_cpu_s, r) for r in mine):.0f}",
                f"{max(r.other_cpu_s for r in mine):.1f}",
            ])  # fmt: skip
    return rows


def ratio_rows(runs: Sequence[Run]) -> list[list[str]]:
    rows = []
    for case in _cases(runs):
        per_cpu = spread(paired(runs, case, "per_cpu_s"))
        rps = spread(paired(runs, case, "rps"))
        verdict = "" if not per_cpu.count else ("ok" if per_cpu.median >= TARGET else "BELOW")
        rows.append([case, per_cpu.label(3), rps.label(3), f">= {TARGET:g}", verdict])
    return rows


def digest(runs: Sequence[Run]) -> dict[str, Any]:
    """The JSON-ready ratios: every paired value, median, min, max, and whether it is met."""
    result: dict[str, Any] = {}
    for case in _cases(runs):
        entry: dict[str, Any] = {}
        for figure, key in (("per_cpu_s", "requests_per_cpu_s"), ("rps", "rps")):
            values = paired(runs, case, figure)
            s = spread(values)
            entry[key] = {"values": values, "median": s.median, "min": s.low, "max": s.high}
        values = entry["requests_per_cpu_s"]["values"]
        entry["target"] = TARGET
        entry["met"] = None if not values else entry["requests_per_cpu_s"]["median"] >= TARGET
        result[case] = entry
    return result
