"""The capacity search's charts: throughput against load, latency against throughput."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from matplotlib.figure import Figure

from spendcast.loadtest.capacity.result import CapacityResult
from spendcast.loadtest.shared.capacity_step import StepEnded
from spendcast.loadtest.shared.plots import log_latency_axis, new_chart, save_figure
from spendcast.loadtest.shared.search import SearchPlan

THROUGHPUT_VS_LOAD_PNG: Final = "capacity_throughput.png"
LATENCY_VS_THROUGHPUT_PNG: Final = "capacity_latency.png"
VERDICT_COLORS: Final = {"holds": "tab:green", "flat": "tab:orange", "breaks": "tab:red"}


def write_capacity_plots(result: CapacityResult) -> list[Path]:
    steps = sorted(result.steps, key=lambda s: s.load)
    if not steps:
        return []
    return [
        _throughput(result, steps, result.out_dir / THROUGHPUT_VS_LOAD_PNG),
        _latency(result, steps, result.out_dir / LATENCY_VS_THROUGHPUT_PNG),
    ]


def _mark_best(axis: Any, x: float, y: float, text: str) -> None:
    axis.scatter([x], [y], s=220, facecolors="none", edgecolors="black", linewidths=1.5, zorder=5)
    axis.annotate(text, (x, y), xytext=(10, -18), textcoords="offset points", fontsize=9)


def _throughput(result: CapacityResult, steps: Sequence[StepEnded], path: Path) -> Path:
    figure, axis = new_chart()
    loads = [s.load for s in steps]
    rps = [s.figures.rps for s in steps]
    axis.plot(loads, rps, color="tab:blue", alpha=0.6)
    for verdict, color in VERDICT_COLORS.items():
        chosen = [(x, y) for s, x, y in zip(steps, loads, rps, strict=True) if s.verdict == verdict]
        if chosen:
            axis.scatter(*zip(*chosen, strict=True), color=color, label=verdict, zorder=4)
    if result.plan.mode == "rate":
        axis.plot(loads, loads, linestyle=":", color="tab:gray", label="offered = answered")
        axis.set_xlabel("offered load (task iterations/s, open model)")
    else:
        axis.set_xlabel("concurrent users (closed model)")
    best = result.best
    if best is not None:
        _mark_best(axis, best.load, best.figures.rps, f"{best.figures.rps:,.0f} req/s")
    axis.set_ylabel("throughput (requests/s answered)")
    axis.set_ylim(bottom=0)
    axis.legend(loc="upper left")
    axis.set_title("Throughput against load")
    axis.grid(alpha=0.3)
    return save_figure(figure, path)


def _latency(result: CapacityResult, steps: Sequence[StepEnded], path: Path) -> Path:
    return save_figure(latency_figure(result.plan, steps, result.best), path)


def latency_figure(plan: SearchPlan, steps: Sequence[StepEnded], best: StepEnded | None) -> Figure:
    """p50, p95, p99 of each step against its throughput, the SLOs, the capacity circled."""
    figure, axis = new_chart()
    rps = [s.figures.rps for s in steps]
    for percentile, color in ((50, "tab:green"), (95, "tab:orange"), (99, "tab:red")):
        values = [s.figures.latency_ms.percentile_ms(percentile) for s in steps]
        axis.plot(rps, [math.nan if v is None else v for v in values], marker="o", color=color,
                  label=f"p{percentile}")  # fmt: skip
    for slo in plan.parsed_slos():
        if slo.percentile is not None or slo.metric == "max":
            axis.axhline(slo.threshold, color="black", linestyle="--", linewidth=1)
            axis.annotate(
                f"SLO {slo.expression}",
                (0, slo.threshold),
                xycoords=("axes fraction", "data"),
                xytext=(4, 4),
                textcoords="offset points",
                fontsize=8,
            )
    if best is not None:
        p99 = best.figures.latency_ms.p99
        if p99 is not None:
            _mark_best(axis, best.figures.rps, p99, "capacity")
    log_latency_axis(axis)
    axis.set_xlabel("throughput (requests/s answered)")
    axis.set_ylabel("latency (ms, log scale)")
    axis.legend(loc="upper left")
    axis.set_title("Latency against throughput (the knee is where it turns up)")
    axis.grid(alpha=0.3, which="both")
    return figure
