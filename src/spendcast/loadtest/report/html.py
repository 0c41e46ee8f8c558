"""One self-contained HTML page for run directories: a run, a capacity search, a comparison,
a profile. Charts are inlined (PNG and SVG as base64 data URIs), the style sheet too: the page
needs no network and no other file, so it can be mailed or attached to a ticket.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any, Final

from spendcast.errors import ReportError
from spendcast.loadtest.capacity.result import CapacityDocument
from spendcast.loadtest.compare.stats import NO_DIFFERENCE
from spendcast.loadtest.report.diagnosis import diagnosis_html, diagnosis_section
from spendcast.loadtest.shared.capacity_step import StepEnded
from spendcast.loadtest.shared.contract import (
    CAPACITY_FILE,
    COMPARISON_FILE,
    PROFILE_FILE,
    SUMMARY_FILE,
    TREND_FILE,
)
from spendcast.loadtest.shared.run_files import read_summary
from spendcast.loadtest.shared.run_summary import Summary

KINDS: Final = (
    (COMPARISON_FILE, "comparison"),
    (CAPACITY_FILE, "capacity"),
    (PROFILE_FILE, "profile"),
    (TREND_FILE, "trend"),
    (SUMMARY_FILE, "run"),
)
RUN_HEADERS: Final = ("endpoint", "requests", "failures", "req/s", "p50 ms", "p95 ms", "p99 ms",
                      "p99.9 ms", "max ms")  # fmt: skip
STEP_VERDICT_CLASSES: Final = {"holds": "good", "breaks": "bad"}
FIGURE_VERDICT_CLASSES: Final = {"faster": "good", "fewer errors": "good", "slower": "bad",
                                 "more errors": "bad"}  # fmt: skip
_MIME: Final = {".png": "image/png", ".svg": "image/svg+xml"}
_STYLE: Final = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1100px;
color:#1d2733;padding:0 1rem;line-height:1.45}
h1{font-size:1.6rem}h2{border-bottom:2px solid #dde3ea;padding-bottom:.3rem;margin-top:2.5rem}
table{border-collapse:collapse;margin:1rem 0;font-size:.92rem}
th,td{border:1px solid #dde3ea;padding:.3rem .6rem;text-align:right}
th{background:#f3f6f9}td:first-child,th:first-child{text-align:left}
.answer{font-size:1.15rem;font-weight:600;background:#eef6ee;border-left:5px solid #3a8a3a;
padding:.7rem 1rem}.answer.verdict-bad{background:#fbeceb;border-left-color:#b3261e}
.answer.verdict-neutral{background:#f3f6f9;border-left-color:#8a96a3}
.answer.verdict-mixed{background:#fff5e0;border-left-color:#c77700}
.bad{color:#b3261e;font-weight:600}.good{color:#2e7d32;font-weight:600}
.dim{color:#6b7785}figure{margin:1.2rem 0}img{max-width:100%;border:1px solid #dde3ea}
code{background:#f3f6f9;padding:0 .25rem}
"""


def kinds(directory: Path) -> list[str]:
    """What ``directory`` holds: ``["capacity", "run"]`` for a capacity search, etc."""
    return [kind for name, kind in KINDS if (directory / name).exists()]


def write_report(directories: Sequence[Path], out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(build_page(directories), encoding="utf-8")
    return out


def build_page(directories: Sequence[Path]) -> str:
    sections = []
    for directory in directories:
        found = kinds(directory)
        if not found:
            raise ReportError(f"{directory}: no summary.json, capacity.json, comparison.json, "
                              "profile.json or trend.json: not a spendcast run "
                              "directory")  # fmt: skip
        for kind in found:
            if kind == "run" and "capacity" in found:
                continue  # the capacity section shows its run as the steps it was
            if kind == "run" and len(found) > 1:
                sections.append(_run(directory, heading="The load run"))
            else:
                sections.append(_SECTIONS[kind](directory))
    names = ", ".join(d.name for d in directories)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>spendcast report: {escape(names)}</title><style>{_STYLE}</style></head><body>"
        f'<h1>spendcast report</h1><p class="dim">{escape(names)} · written {stamp}</p>'
        + "".join(sections)
        + "</body></html>\n"
    )


def _json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def image(path: Path, alt: str) -> str:
    """An ``<img>`` whose source is the file itself, base64-encoded."""
    if not path.exists():
        return ""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    mime = _MIME.get(path.suffix.lower(), "application/octet-stream")
    return (f'<figure><img src="data:{mime};base64,{data}" alt="{escape(alt)}">'
            f"<figcaption class=\"dim\">{escape(alt)}</figcaption></figure>")  # fmt: skip


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell if _is_html(cell) else escape(str(cell))}</td>"
                         for cell in row) + "</tr>"
        for row in rows
    )  # fmt: skip
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class Html(str):
    """Text already escaped (a cell holding markup)."""


def _is_html(cell: Any) -> bool:
    return isinstance(cell, Html)


def _plots(directory: Path, data: Mapping[str, Any]) -> str:
    return _images(directory, data.get("files", {}).get("plots", []))


def _run_plots(directory: Path, summary: Summary) -> str:
    return _images(directory, () if summary.files is None else summary.files.plots or ())


def _images(directory: Path, names: Iterable[str]) -> str:
    return "".join(
        image(directory / name, name.removesuffix(".png").replace("_", " ")) for name in names
    )


def _overall_class(verdict: str) -> str:
    """A comparison's verdict box: faster green, slower red, no difference grey, mixed amber."""
    if verdict == NO_DIFFERENCE:
        return "neutral"
    return {"faster": "good", "slower": "bad"}.get(verdict, "mixed")


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.2f}"


def _figures_rows(summary: Summary) -> list[list[str]]:
    """Each endpoint's figures, then the total's."""
    rows = []
    items = [*((e.label, e.figures) for e in summary.endpoints), ("total", summary.total)]
    for label, figures in items:
        latency = figures.latency_ms
        found = (latency.p50, latency.p95, latency.p99, latency.p99_9, latency.max)
        counts = [f"{figures.requests:,}", f"{figures.failures:,}", f"{figures.rps:,.1f}"]
        rows.append([label, *counts, *(_ms(value) for value in found)])
    return rows


def _run(directory: Path, heading: str | None = None) -> str:
    summary = read_summary(directory)
    config = summary.config
    title = heading or f"Load test: {config.scenario} on {config.host}"
    slo_rows = [
        [s.slo.expression, "–" if s.observed is None else f"{s.observed:.4g}",
         Html('<span class="good">✓ holds</span>' if s.passed
              else '<span class="bad">✗ fails</span>')]
        for s in summary.slos
    ]  # fmt: skip
    plan = config.load_plan
    load = plan.describe() if plan else f"{config.users} users"
    return (
        f"<section><h2>{escape(title)}</h2>"
        + _run_verdict(summary)
        + f"<p>{escape(load)} · {summary.duration_s:.1f} s · "
        f"started {escape(summary.timestamp)}</p>"
        + table(RUN_HEADERS, _figures_rows(summary))
        + (table(["SLO", "observed", "verdict"], slo_rows) if slo_rows else "")
        + diagnosis_section(summary.diagnosis)
        + _run_plots(directory, summary)
        + "</section>"
    )


def _run_verdict(summary: Summary) -> str:
    """The run's verdict box: aborted (and why), SLOs failed, or every SLO held; none without
    an SLO."""
    slos = summary.slos
    if summary.abort is not None:
        described = summary.abort.describe()
        planned = summary.config.duration_s
        text = f"{described[:1].upper()}{described[1:]} (--abort-on-fail"
        text += f", {planned} s planned)" if planned else ")"
        return f'<p class="answer verdict-bad">{escape(text)}</p>'
    if not slos:
        return ""
    failed = sum(not s.passed for s in slos)
    if failed:
        return f'<p class="answer verdict-bad">{failed} of {len(slos)} SLOs failed</p>'
    return f'<p class="answer">Every SLO held ({len(slos)})</p>'


def _capacity(directory: Path) -> str:
    """The answer, the plan, the steps; then the run they made up, every step together.

    The run's own section (its starting users, its SLOs judged over the whole search) would
    read as a failure: the SLO holds or breaks per step, which is what the verdicts say.
    """
    data = CapacityDocument.read(directory / CAPACITY_FILE)
    plan = data.plan
    unit = "users" if plan.mode == "users" else "offered req/s"
    rows = []
    for step in data.steps:
        figures = step.figures
        latency = figures.latency_ms
        style = STEP_VERDICT_CLASSES.get(step.verdict, "")
        verdict = f'<span class="{style}">{escape(step.verdict)}</span> '
        verdict += escape(" ".join([step.reason, *step.generator.notes]))
        rows.append([step.index, f"{step.load:g}",
                     f"{step.ended_at - step.started_at:.0f}", f"{figures.rps:,.1f}",
                     f"{figures.error_rate * 100:.2g} %",
                     *(_ms(v) for v in (latency.p50, latency.p95, latency.p99)),
                     "yes" if step.stable else "time cap", Html(verdict)])  # fmt: skip
    headers = ["step", unit, "s", "req/s", "errors", "p50 ms", "p95 ms", "p99 ms", "stable",
               "verdict"]  # fmt: skip
    answer_class = "" if data.found else " verdict-bad"
    return (
        f"<section><h2>Capacity search on {escape(data.host)} ({escape(plan.mode)} mode)"
        f'</h2><p class="answer{answer_class}">{escape(data.answer)}</p>'
        f"<p>SLO: <code>{escape(' '.join(plan.slos))}</code> · growth "
        f"<code>{escape(plan.growth)}</code> · windows of {plan.window_s} s, "
        f"{plan.stable_windows} must agree within {plan.tolerance * 100:g} % · "
        f"step cap {plan.max_step_s} s · bisections {plan.bisect}</p>"
        + table(headers, rows)
        + ("" if data.diagnosis is None else diagnosis_html(data.diagnosis))
        + _images(directory, data.plots)
        + _search_run(directory, data.steps, unit)
        + "</section>"
    )


def _search_run(directory: Path, steps: Sequence[StepEnded], unit: str) -> str:
    """The search's one Locust run: its steps' loads, and the endpoints over all of them."""
    summary = read_summary(directory)
    loads = " → ".join(f"{s.load:g}" for s in steps)
    return (
        f"<h3>The load run: {len(steps)} steps, every step together</h3>"
        f"<p>{escape(unit)} by step: {escape(loads)} · {summary.duration_s:.1f} s · "
        f"started {escape(summary.timestamp)}. The SLO is judged per step (the verdicts "
        "above), not over the whole run.</p>"
        + table(RUN_HEADERS, _figures_rows(summary))
        + _run_plots(directory, summary)
    )


def _comparison(directory: Path) -> str:
    data = _json(directory / COMPARISON_FILE)
    rows = []
    for figure in data["figures"]:
        verdict = figure["verdict"]
        style = FIGURE_VERDICT_CLASSES.get(verdict, "")
        rows.append([figure["label"], figure["baseline_text"], figure["candidate_text"],
                     figure["ratio_text"], figure["spread_text"],
                     Html(f'<span class="{style}">{escape(verdict)}</span>')])  # fmt: skip
    return (
        f"<section><h2>Comparison: {escape(data['baseline']['label'])} → "
        f"{escape(data['candidate']['label'])}</h2>"
        f'<p class="answer verdict-{_overall_class(data["verdict"])}">'
        f"{escape(data['headline'])}</p>"
        + table(["figure", "baseline", "candidate", "ratio", "spread", "verdict"], rows)
        + f'<p class="dim">{escape(data["significance"])}</p>'
        + _plots(directory, data)
        + "</section>"
    )


def _profile(directory: Path) -> str:
    data = _json(directory / PROFILE_FILE)

    def rows(key: str) -> list[list[str]]:
        return [[f["function"], f["file"], f"{f['samples']:,}", f"{f['percent']:.1f} %"]
                for f in data[key]]  # fmt: skip

    headers = ["function", "file", "samples", "share"]
    flamegraph = data["files"]["flamegraph"]
    return (
        f"<section><h2>Profile of {escape(data['target'])}</h2>"
        f"<p>{data['samples']:,} samples at {data['rate']} Hz over {data['duration_s']:.0f} s "
        f"of load; speedscope file: <code>{escape(data['files']['speedscope'])}</code> "
        "(open it at speedscope.app or with the speedscope CLI).</p>"
        "<h3>Top functions by own time (the CPU spent in the function itself)</h3>"
        + table(headers, rows("top_own"))
        + "<h3>Top functions by total time (itself and what it calls)</h3>"
        + table(headers, rows("top_total"))
        + "<h3>The application's own functions by total time</h3>"
        + table(headers, rows("top_application"))
        + table(
            ["package", "samples", "share of own time"],
            [
                [p["package"], f"{p['samples']:,}", f"{p['percent']:.1f} %"]
                for p in data["top_packages"]
            ],
        )
        + image(directory / flamegraph, "flame graph (width: share of samples)")
        + "</section>"
    )


def _trend(directory: Path) -> str:
    """``spendcast history trend``: a figure run after run, each run's commit beside it."""
    data = _json(directory / TREND_FILE)
    rows = [[f"#{p['run_id']}", p["started_at"], p["commit_label"],
             "–" if p["value"] is None else f"{p['value']:,.3f}",
             "baseline" if p["blessed"] else ""] for p in data["points"]]  # fmt: skip
    return (
        f"<section><h2>Trend of {escape(data['metric'])} on {escape(data['endpoint'])}</h2>"
        f"<p>{len(rows)} like-for-like runs of {escape(str(data['scenario']))} on "
        f"{escape(str(data['host']))} · key <code>{escape(data['key'][:12])}</code></p>"
        + table(["run", "started", "commit", data["metric"], ""], rows)
        + _plots(directory, data)
        + "</section>"
    )


_SECTIONS: Final = {"comparison": _comparison, "capacity": _capacity, "profile": _profile,
                    "trend": _trend, "run": _run}  # fmt: skip
