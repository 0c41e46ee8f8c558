"""The trend of one figure across like-for-like runs (one key): points, a chart, a page.

``write_trend`` makes a trend directory: ``trend.json`` (the points), ``trend.png`` (the
figure run after run, each point labelled with its commit, ``*`` when the working tree was
dirty, the blessed baseline drawn as a line) and ``index.html`` through the report.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from spendcast.loadtest.history.record import RunRecord
from spendcast.loadtest.shared.contract import TREND_FILE

TREND_PNG: Final = "trend.png"
COMMIT_SHOWN: Final = 8


@dataclass(frozen=True)
class TrendPoint:
    run_id: int
    started_at: str
    commit: str | None
    dirty: bool | None
    value: float | None
    blessed: bool
    run_dir: str

    @property
    def commit_label(self) -> str:
        if self.commit is None:
            return "no commit"
        return self.commit[:COMMIT_SHOWN] + ("*" if self.dirty else "")


def trend_points(runs: Sequence[RunRecord], metric: str, endpoint: str) -> list[TrendPoint]:
    """One point per run (oldest first); ``value`` ``None`` when the run has no such figure."""
    points = []
    for run in runs:
        figure = run.figure(endpoint)
        assert run.id is not None
        points.append(TrendPoint(run.id, run.started_at, run.meta.git_commit, run.meta.git_dirty,
                                 None if figure is None else figure.value(metric), run.blessed,
                                 run.run_dir))  # fmt: skip
    return points


def trend_json(
    points: Sequence[TrendPoint], metric: str, endpoint: str, runs: Sequence[RunRecord]
) -> dict[str, Any]:
    last = runs[-1]
    return {
        "schema_version": 1,
        "key": last.key,
        "scenario": last.scenario,
        "host": last.host,
        "metric": metric,
        "endpoint": endpoint,
        "points": [asdict(p) | {"commit_label": p.commit_label} for p in points],
        "files": {"plots": [TREND_PNG]},
    }


def write_trend(data: dict[str, Any], out_dir: Path) -> Path:
    """``trend.json``, ``trend.png`` and ``index.html`` in ``out_dir``; returns the page."""
    from spendcast.loadtest.report.html import write_report
    from spendcast.loadtest.shared.plots import save_figure

    out_dir.mkdir(parents=True, exist_ok=True)
    save_figure(_figure(data), out_dir / TREND_PNG)
    (out_dir / TREND_FILE).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return write_report([out_dir], out_dir / "index.html")


def _figure(data: dict[str, Any]) -> Any:
    from spendcast.loadtest.shared.plots import new_chart

    points = [p for p in data["points"] if p["value"] is not None]
    figure, axis = new_chart(max(6.0, 0.6 * len(points) + 3), 4.5)
    xs = list(range(len(points)))
    axis.plot(xs, [p["value"] for p in points], marker="o", color="tab:blue")
    for x, point in zip(xs, points, strict=True):
        axis.annotate(point["commit_label"], (x, point["value"]), textcoords="offset points",
                      xytext=(0, 8), ha="center", fontsize=7, rotation=30)  # fmt: skip
    blessed = [p for p in points if p["blessed"]]
    if blessed:
        axis.axhline(blessed[0]["value"], color="tab:green", linestyle="--",
                     label=f"baseline #{blessed[0]['run_id']}")  # fmt: skip
        axis.legend(loc="best", fontsize=8)
    axis.set_xticks(xs, [f"#{p['run_id']}\n{p['started_at'][5:16].replace('T', ' ')}"
                         for p in points],
                    fontsize=7)  # fmt: skip
    latency = data["metric"].startswith(("p", "max"))
    axis.set_ylabel(f"{data['metric']} (ms)" if latency else data["metric"])
    axis.margins(x=0.08)
    axis.set_ylim(0, max([p["value"] for p in points], default=0) * 1.25 or 1)  # labels fit
    axis.grid(alpha=0.3)
    axis.set_title(f"{data['metric']} of {data['endpoint']} across {len(points)} like-for-like "
                   f"runs (key {data['key'][:12]})", fontsize=10)  # fmt: skip
    return figure
