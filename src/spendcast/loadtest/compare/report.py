"""A comparison's directory: ``comparison.json``, ``comparison.md``, charts, ``index.html``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from matplotlib.figure import Figure

from spendcast.loadtest.compare.pairs import Comparison, merged_histogram
from spendcast.loadtest.report.html import write_report
from spendcast.loadtest.shared.contract import COMPARISON_FILE
from spendcast.loadtest.shared.plots import percentile_figure, save_figure

MARKDOWN_FILE: Final = "comparison.md"
FIGURES_PNG: Final = "compare_figures.png"
LATENCY_PNG: Final = "compare_latency.png"
COLORS: Final = {"baseline": "tab:gray", "candidate": "tab:blue"}
NINES: Final = (0.0, 90.0, 99.0, 99.9, 99.99)


def write_comparison(comparison: Comparison, out_dir: Path) -> Path:
    """Write every file of the comparison into ``out_dir``; returns the HTML page."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = comparison.to_json()
    data["files"] = {
        "markdown": MARKDOWN_FILE,
        "html": "index.html",
        "plots": [_figures_chart(comparison, out_dir / FIGURES_PNG).name,
                  _latency_chart(comparison, out_dir / LATENCY_PNG).name],
    }  # fmt: skip
    (out_dir / COMPARISON_FILE).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    (out_dir / MARKDOWN_FILE).write_text(markdown(data), encoding="utf-8")
    return write_report([out_dir], out_dir / "index.html")


def markdown(data: dict[str, Any]) -> str:
    base, cand = data["baseline"], data["candidate"]
    lines = [
        f"# {cand['label']} vs {base['label']}",
        "",
        f"**{data['headline']}**",
        "",
        "| figure | baseline | candidate | ratio | spread | verdict |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for f in data["figures"]:
        lines.append(f"| {f['label']} | {f['baseline_text']} | {f['candidate_text']} | "
                     f"{f['ratio_text']} | {f['spread_text']} | {f['verdict']} |")  # fmt: skip
    lines += ["", f"How significance is decided: {data['significance']}", ""]
    for side, name in ((base, "baseline"), (cand, "candidate")):
        if side["command"]:
            lines.append(f"- {name} ({side['label']}): `{side['command']}`")
    config = data["config"]
    if data["method"] == "pairs":
        lines.append(f"- each run: scenario `{config['scenario']}`, {config['users']} users, "
                     f"{config['duration_s']} s; {data['pairs']} pairs after a "
                     f"{config['warmup_s']} s warm-up of each server")  # fmt: skip
    lines += ["", f"![figures]({FIGURES_PNG})", "", f"![latency]({LATENCY_PNG})", ""]
    return "\n".join(lines)


def _figures_chart(comparison: Comparison, path: Path) -> Path:
    """One panel per figure: a bar per side (its summary value) and a dot per run."""
    shown = [f for f in comparison.figures if f.name != "errors"]
    figure = Figure(figsize=(3.2 * len(shown), 4))
    axes = figure.subplots(1, len(shown), squeeze=False)[0]
    labels = (comparison.baseline.label, comparison.candidate.label)
    for axis, item in zip(axes, shown, strict=True):
        values = (item.baseline, item.candidate)
        axis.bar([0, 1], values, color=[COLORS["baseline"], COLORS["candidate"]], alpha=0.7)
        for index in (0, 1):
            dots = [pair[index] for pair in item.per_pair]
            axis.scatter([index] * len(dots), dots, color="black", s=12, zorder=3)
        axis.set_xticks([0, 1], [_short(label) for label in labels])
        axis.set_title(f"{item.label}\n{item.verdict} ({item.texts()['ratio_text']})", fontsize=9)
        axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3, axis="y")
    figure.suptitle(f"{comparison.candidate.label} vs {comparison.baseline.label}")
    return save_figure(figure, path)


def _latency_chart(comparison: Comparison, path: Path) -> Path:
    return save_figure(latency_figure(comparison), path)


def latency_figure(comparison: Comparison) -> Figure:
    """Both sides' latency by percentile (every run of a side merged), log scale of nines."""
    lines = [(side.label, merged_histogram(side.run_dirs), COLORS[name])
             for name, side in (("baseline", comparison.baseline),
                                ("candidate", comparison.candidate))]  # fmt: skip
    title = "Latency by percentile, every run of each side merged"
    return percentile_figure(lines, title, nines=NINES, log_latency=True)


def _short(label: str) -> str:
    return label if len(label) <= 18 else label[:17] + "…"
