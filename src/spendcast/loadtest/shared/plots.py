"""The run's charts (PNG, matplotlib's Agg backend: no display needed), and the axes every
chart of the kit shares: log-scale latency in plain milliseconds (``40``, never ``4 × 10^1``),
percentiles as nines.

Figures are made with matplotlib's object API (``Figure``), not ``pyplot``: no global figure
manager to close, no backend to choose (a PNG is drawn by Agg whatever the default backend).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatter, NullFormatter

from spendcast.loadtest.shared.latency import LatencyHistogram
from spendcast.loadtest.shared.run_summary import Summary
from spendcast.loadtest.shared.summary_figures import Second

THROUGHPUT_PNG: Final = "throughput.png"
LATENCY_OVER_TIME_PNG: Final = "latency_over_time.png"
LATENCY_DISTRIBUTION_PNG: Final = "latency_distribution.png"
NINES: Final = (0.0, 90.0, 99.0, 99.9, 99.99, 99.999)


def write_plots(
    summary: Summary, histograms: Mapping[str, LatencyHistogram], out_dir: Path
) -> list[Path]:
    """Write the three charts into ``out_dir``; ``histograms`` maps a label to its latencies."""
    series = summary.timeseries
    return [
        _throughput(series, out_dir / THROUGHPUT_PNG),
        _latency_over_time(series, out_dir / LATENCY_OVER_TIME_PNG),
        _latency_distribution(histograms, out_dir / LATENCY_DISTRIBUTION_PNG),
    ]


def new_chart(width: float = 9, height: float = 4.5) -> tuple[Figure, Axes]:
    """A figure of ``width`` x ``height`` inches (drawn by Agg when saved) and its one axes."""
    figure = Figure(figsize=(width, height))
    return figure, figure.subplots()


def save_figure(figure: Figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    return path


class PlainLogFormatter(LogFormatter):
    """Matplotlib's choice of which log ticks to label, each label the plain number."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        return _plain(x) if super().__call__(x, pos) else ""


def _plain(value: float) -> str:
    return f"{value:,.0f}" if value >= 1 else f"{value:.3g}"


def log_latency_axis(axis: Axes) -> None:
    """The y axis in milliseconds on a log scale, labelled ``40``, ``100``, ``200``."""
    axis.set_yscale("log")
    axis.yaxis.set_major_formatter(PlainLogFormatter())
    axis.yaxis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False))


def nines_axis(axis: Axes, nines: Sequence[float]) -> None:
    """The x axis as 1 / (1 - percentile) on a log scale, labelled by the ``nines`` only."""
    axis.set_xscale("log")
    axis.set_xticks([1.0 / (1.0 - p / 100.0) for p in nines], [f"{p:g}%" for p in nines])
    axis.xaxis.set_minor_formatter(NullFormatter())
    axis.set_xlabel("percentile")


def _throughput(series: Sequence[Second], path: Path) -> Path:
    figure, axis = new_chart()
    times = [row.time for row in series]
    axis.plot(times, [row.rps for row in series], label="requests/s", color="tab:blue")
    axis.plot(times, [row.failures for row in series], label="failures/s", color="tab:red")
    axis.set_xlabel("time (s)")
    axis.set_ylabel("per second")
    users_axis = axis.twinx()
    users = [row.users if row.users is not None else math.nan for row in series]
    users_axis.step(times, users, where="post", label="users", color="tab:gray", linestyle="--")
    users_axis.set_ylabel("users")
    users_axis.set_ylim(bottom=0)
    axis.set_ylim(bottom=0)
    lines = axis.get_legend_handles_labels()
    more = users_axis.get_legend_handles_labels()
    axis.legend(lines[0] + more[0], lines[1] + more[1], loc="lower right")
    axis.set_title("Throughput and users over time")
    axis.grid(alpha=0.3)
    shade_warmup(axis, series)
    return save_figure(figure, path)


def _latency_over_time(series: Sequence[Second], path: Path) -> Path:
    figure, axis = new_chart()
    times = [row.time for row in series]
    lines = (("p50", "tab:green", [row.p50 for row in series]),
             ("p95", "tab:orange", [row.p95 for row in series]),
             ("p99", "tab:red", [row.p99 for row in series]))  # fmt: skip
    for label, color, found in lines:
        values = [math.nan if value is None else value for value in found]
        axis.plot(times, values, label=label, color=color, marker=".")
    axis.set_xlabel("time (s)")
    axis.set_ylabel("latency (ms)")
    axis.set_ylim(bottom=0)
    axis.legend()
    axis.set_title("Latency percentiles per second")
    axis.grid(alpha=0.3)
    shade_warmup(axis, series)
    return save_figure(figure, path)


def shade_warmup(axis: Axes, series: Sequence[Second]) -> None:
    """Shade the warm-up's seconds (sent, shown, left out of every figure)."""
    warm = [row.time for row in series if row.warmup]
    if warm:
        axis.axvspan(min(warm), max(warm) + 1, color="tab:gray", alpha=0.15)
        axis.annotate("warm-up", (min(warm), 1), xycoords=("data", "axes fraction"),
                      xytext=(3, -12), textcoords="offset points", color="dimgray")  # fmt: skip


def _latency_distribution(histograms: Mapping[str, LatencyHistogram], path: Path) -> Path:
    lines = [(label, histogram, None) for label, histogram in histograms.items()]
    return save_figure(percentile_figure(lines, "Latency by percentile (HDR histogram)"), path)


def percentile_figure(
    lines: Sequence[tuple[str, LatencyHistogram, str | None]],
    title: str,
    *,
    nines: Sequence[float] = NINES,
    log_latency: bool = False,
) -> Figure:
    """HDR's percentile plot: latency against 1/(1 - percentile), so the tail is readable.

    One line per ``(label, histogram, colour)``, as deep into the tail as its count allows
    (at most the last of ``nines``).
    """
    figure, axis = new_chart()
    for label, histogram, color in lines:
        if histogram.count == 0:
            continue
        deepest = len(nines) - 1
        depth = min(float(deepest), math.log10(histogram.count)) if histogram.count > 1 else 0.0
        steps = 80
        percentiles = [100.0 * (1 - 10 ** (-depth * i / steps)) for i in range(steps + 1)]
        values = histogram.percentiles_ms(percentiles)
        xs = [1.0 / (1.0 - p / 100.0) for p in percentiles]
        ys = [math.nan if (v := values[p]) is None else v for p in percentiles]
        axis.plot(xs, ys, label=label, color=color, drawstyle="steps-post")
    nines_axis(axis, nines)
    if log_latency:
        log_latency_axis(axis)
        axis.set_ylabel("latency (ms, log scale)")
    else:
        axis.set_ylabel("latency (ms)")
        axis.set_ylim(bottom=0)
    if axis.get_legend_handles_labels()[0]:
        axis.legend()
    axis.set_title(title)
    axis.grid(alpha=0.3, which="both")
    return figure
