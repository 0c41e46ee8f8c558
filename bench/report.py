"""Pure summaries of the measurements: per-scenario medians, ratios with their spread, tables."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Measurement:
    """One wrk run of one scenario in one repetition, with the server's CPU split."""

    scenario: str
    repetition: int
    rps: float
    p50_us: int
    p99_us: int
    errors: int
    requests: int
    worker_cpu_s: tuple[float, ...]
    generator_cpu_s: float
    other_cpu_s: float = 0.0  # CPU used meanwhile by the rest of the machine: noise
    cores: int = 0  # the CPUs the server and the generator shared (0: not recorded)

    @property
    def server_cpu_s(self) -> float:
        """CPU every worker of the server got during the run (what the machine allowed it)."""
        return sum(self.worker_cpu_s)

    @property
    def cpu_us_per_request(self) -> float:
        """Server CPU per answered request: robust to other load on the machine."""
        return sum(self.worker_cpu_s) / self.requests * 1e6 if self.requests else 0.0

    @property
    def ceiling_rps(self) -> float:
        """The rps the cores allow at this run's server and generator CPU per request: what
        it would serve had no core idled (0 when the cores were not recorded)."""
        busy = self.server_cpu_s + self.generator_cpu_s
        return self.cores * self.requests / busy if self.cores and busy > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "worker_cpu_s": list(self.worker_cpu_s),
            "cpu_us_per_request": round(self.cpu_us_per_request, 1),
        }


@dataclass(frozen=True)
class Ratio:
    """``numerator / denominator`` of ``figure`` (a ``Measurement`` attribute: ``rps``,
    ``cpu_us_per_request``, ``server_cpu_s`` or ``ceiling_rps``; the denominator's own
    ``denominator_figure`` when given), pairing runs of the same repetition. The target is a
    floor, or a ceiling when ``at_most``."""

    label: str
    numerator: str
    denominator: str
    target: float | None = None
    figure: str = "rps"
    at_most: bool = False
    denominator_figure: str | None = None

    def target_label(self) -> str:
        if self.target is None:
            return ""
        return f"{'<=' if self.at_most else '>='} {self.target:g}"

    def met(self, value: float) -> bool | None:
        if self.target is None:
            return None
        return value <= self.target if self.at_most else value >= self.target


@dataclass(frozen=True)
class Spread:
    median: float
    low: float
    high: float
    count: int

    def label(self, digits: int = 2) -> str:
        if self.count == 0:
            return "n/a"
        return f"{self.median:.{digits}f} [{self.low:.{digits}f}-{self.high:.{digits}f}]"


def spread(values: Sequence[float]) -> Spread:
    """Median and range; all zeros (count 0) when there is nothing."""
    if not values:
        return Spread(0.0, 0.0, 0.0, 0)
    return Spread(statistics.median(values), min(values), max(values), len(values))


def by_scenario(measurements: Sequence[Measurement]) -> dict[str, list[Measurement]]:
    """Measurements grouped by scenario, in first-seen order, each list by repetition."""
    grouped: dict[str, list[Measurement]] = {}
    for m in measurements:
        grouped.setdefault(m.scenario, []).append(m)
    return {key: sorted(runs, key=lambda m: m.repetition) for key, runs in grouped.items()}


def scenario_figures(measurements: Sequence[Measurement]) -> dict[str, tuple[float, ...]]:
    """Each scenario's rps and server CPU per request, one value per round (results.json's
    figures: what ``--baseline`` pairs)."""
    figures: dict[str, tuple[float, ...]] = {}
    for scenario, runs in by_scenario(measurements).items():
        figures[f"{scenario}: rps"] = tuple(round(m.rps, 1) for m in runs)
        figures[f"{scenario}: cpu us/request"] = tuple(round(m.cpu_us_per_request, 2) for m in runs)
    return figures


def ratio_values(measurements: Sequence[Measurement], ratio: Ratio) -> list[float]:
    """One value per repetition in which both scenarios ran and the denominator served."""

    def figures(scenario: str, figure: str) -> dict[int, float]:
        return {
            m.repetition: float(getattr(m, figure)) for m in measurements if m.scenario == scenario
        }

    numerators = figures(ratio.numerator, ratio.figure)
    denominators = figures(ratio.denominator, ratio.denominator_figure or ratio.figure)
    return [
        numerators[rep] / denominators[rep]
        for rep in sorted(numerators.keys() & denominators.keys())
        if denominators[rep] > 0
    ]


def cpu_split_label(worker_cpu_s: Sequence[float]) -> str:
    """``"52/48"`` (percent of the server's CPU per worker, busiest first), ``"-"`` for one."""
    total = sum(worker_cpu_s)
    if len(worker_cpu_s) < 2:
        return "-"
    if total <= 0:
        return "/".join("0" for _ in worker_cpu_s)
    shares = sorted((s / total for s in worker_cpu_s), reverse=True)
    return "/".join(str(round(share * 100)) for share in shares)


def verdict(value: float, ratio: Ratio) -> str:
    met = ratio.met(value)
    if met is None:
        return ""
    return "ok" if met else ("ABOVE" if ratio.at_most else "BELOW")


def scenario_rows(measurements: Sequence[Measurement]) -> list[list[str]]:
    """One row per scenario: rps, p50/p99 (medians over repetitions), errors, CPU split."""
    rows = []
    for key, runs in by_scenario(measurements).items():
        rps = spread([m.rps for m in runs])
        server_cpu = statistics.median(sum(m.worker_cpu_s) for m in runs)
        rows.append(
            [
                key,
                f"{rps.median:,.0f}",
                f"{rps.low:,.0f}-{rps.high:,.0f}",
                f"{statistics.median(m.p50_us for m in runs) / 1000:.2f}",
                f"{statistics.median(m.p99_us for m in runs) / 1000:.2f}",
                str(sum(m.errors for m in runs)),
                f"{statistics.median(m.cpu_us_per_request for m in runs):.0f}",
                f"{server_cpu:.1f}",
                " ".join(cpu_split_label(m.worker_cpu_s) for m in runs),
                f"{statistics.median(m.generator_cpu_s for m in runs):.1f}",
                f"{max(m.other_cpu_s for m in runs):.1f}",
            ]
        )
    return rows


SCENARIO_HEADER = [
    "scenario", "rps", "rps range", "p50 ms", "p99 ms", "errors", "cpu us/req",
    "server cpu s", "worker split % (per rep)", "wrk cpu s", "other cpu s",
]  # fmt: skip
RATIO_HEADER = ["ratio", "median [min-max]", "target", ""]


def ratio_rows(measurements: Sequence[Measurement], ratios: Sequence[Ratio]) -> list[list[str]]:
    rows = []
    for ratio in ratios:
        values = spread(ratio_values(measurements, ratio))
        rows.append(
            [
                ratio.label,
                values.label(),
                ratio.target_label(),
                verdict(values.median, ratio) if values.count else "",
            ]
        )
    return rows


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table, first column left-aligned, the others right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def summary(measurements: Sequence[Measurement], ratios: Sequence[Ratio]) -> dict[str, Any]:
    """The JSON-ready digest: per-scenario medians and every ratio's spread."""
    scenarios: dict[str, Any] = {}
    for key, runs in by_scenario(measurements).items():
        rps = spread([m.rps for m in runs])
        scenarios[key] = {
            "rps_median": rps.median,
            "rps_min": rps.low,
            "rps_max": rps.high,
            "p50_us_median": statistics.median(m.p50_us for m in runs),
            "p99_us_median": statistics.median(m.p99_us for m in runs),
            "errors": sum(m.errors for m in runs),
            "cpu_us_per_request_median": statistics.median(m.cpu_us_per_request for m in runs),
            "other_cpu_s_max": max(m.other_cpu_s for m in runs),
            "worker_split": [cpu_split_label(m.worker_cpu_s) for m in runs],
        }
    ratio_digest: dict[str, Mapping[str, Any]] = {}
    for ratio in ratios:
        values = ratio_values(measurements, ratio)
        s = spread(values)
        ratio_digest[ratio.label] = {
            "values": values,
            "median": s.median,
            "min": s.low,
            "max": s.high,
            "figure": ratio.figure,
            "target": ratio.target,
            "at_most": ratio.at_most,
            "met": ratio.met(s.median) if values else None,
        }
    return {"scenarios": scenarios, "ratios": ratio_digest}
