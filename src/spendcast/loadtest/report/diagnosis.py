"""The report's diagnosis section: the bottleneck, its evidence, what to try, the knee's
top functions and each step's server and Locust CPU (``diagnosis`` of capacity.json or
summary.json, ``figures.Diagnosis``)."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from spendcast.loadtest.diagnosis.figures import Diagnosis, StepFigures, Use

# Not the steps' "good"/"bad": the bottleneck is a finding, not a step's verdict.
CLASSES = {"none": "neutral"}


def _rows(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                   for row in rows)  # fmt: skip
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cpu(uses: tuple[Use, ...] | None) -> str:
    if uses is None:
        return "not observed"
    return ", ".join(f"{u.pid}: {u.cpu_percent:.0f} %"
                     + (f" (+{u.queued_percent:.0f} % queued)" if u.queued_percent else "")
                     for u in uses) or "–"  # fmt: skip


def _step_row(step: StepFigures) -> list[str]:
    busiest = step.busiest_server
    return [
        f"step {step.index}", f"{step.load:g}", step.verdict, f"{step.rps:,.1f}",
        "–" if step.in_flight is None else f"{step.in_flight:.1f}",
        _cpu(step.server), _cpu(step.generator),
        "–" if busiest is None or busiest.threads is None else str(busiest.threads),
        "–" if busiest is None or busiest.rss_mb is None else f"{busiest.rss_mb:,.0f}",
        "–" if step.machine_cpu_percent is None else f"{step.machine_cpu_percent:.0f} %",
    ]  # fmt: skip


def diagnosis_section(data: Mapping[str, Any] | None) -> str:
    """``<h3>Diagnosis</h3>`` and what it holds; empty without a diagnosis."""
    return diagnosis_html(Diagnosis.from_json(dict(data))) if data else ""


def diagnosis_html(found: Diagnosis) -> str:
    """``<h3>Diagnosis</h3>``: the bottleneck, its evidence, what to try, the knee's top
    functions, each step's figures."""
    style = CLASSES.get(found.bottleneck, "mixed")
    parts = [
        f'<h3>Diagnosis: <span class="{style}">{escape(found.bottleneck)}</span></h3>',
        f'<p class="dim">confidence {escape(found.confidence)} · server watched by its '
        f"{escape(found.server_source)}</p>",
        "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in found.evidence) + "</ul>",
    ]
    if found.what_to_try:
        parts.append("<p><b>What to try</b></p><ul>"
                     + "".join(f"<li>{escape(line)}</li>" for line in found.what_to_try)
                     + "</ul>")  # fmt: skip
    if found.top_functions:
        parts.append("<p><b>Top functions at the knee (own samples)</b></p>" + _rows(
            ["function", "file:line", "share"],
            [[f.function, f.file + ("" if f.line is None else f":{f.line}"),
              f"{100 * f.share:.1f} %"] for f in found.top_functions],
        ))  # fmt: skip
    if found.steps:
        headers = ["", "load", "verdict", "req/s", "in flight", "server CPU by pid",
                   "Locust CPU by pid", "threads", "RSS MB", "machine CPU"]  # fmt: skip
        parts.append(_rows(headers, [_step_row(s) for s in found.steps]))
    return "".join(parts)
