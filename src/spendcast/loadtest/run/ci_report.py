"""What a CI system reads from a run: JUnit XML and the GitHub job summary (Markdown).

JUnit (``--junit FILE``): one ``<testsuite>``, one ``<testcase>`` per SLO named by its
expression, a ``<failure message="observed X vs threshold Y">`` when it did not hold; a run
``--abort-on-fail`` ended carries the abort in the failure's text and the suite's properties.
The job summary (appended to ``$GITHUB_STEP_SUMMARY`` when set, never truncated: earlier steps
wrote there too) holds the results table and the SLO verdicts.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from spendcast.loadtest.shared.abort import Abort
from spendcast.loadtest.shared.run_summary import Summary
from spendcast.loadtest.shared.slo import SloResult

STEP_SUMMARY_ENV: Final = "GITHUB_STEP_SUMMARY"
_COLUMNS: Final = (("p50", "p50"), ("p95", "p95"), ("p99", "p99"), ("p99.9", "p99_9"),
                   ("max", "max"))  # fmt: skip


def junit_xml(
    summary: Summary, results: Sequence[SloResult], suite: str = "spendcast loadtest"
) -> str:
    """The JUnit XML document of one run's SLO verdicts."""
    config = summary.config
    failures = sum(not r.passed for r in results)
    testsuite = ET.Element("testsuite", {
        "name": suite, "tests": str(len(results)), "failures": str(failures), "errors": "0",
        "skipped": "0", "time": f"{summary.duration_s:.3f}", "timestamp": summary.timestamp,
    })  # fmt: skip
    properties = ET.SubElement(testsuite, "properties")
    shown = {"host": config.host, "scenario": config.scenario, "users": config.users,
             "duration_s": config.duration_s, "requests": summary.total.requests,
             "failures": summary.total.failures, "aborted": summary.aborted}  # fmt: skip
    for name, value in shown.items():
        ET.SubElement(properties, "property", {"name": name, "value": str(value)})
    for result in results:
        case = ET.SubElement(testsuite, "testcase", {
            "name": result.slo.expression, "classname": suite,
            "time": f"{summary.duration_s:.3f}",
        })  # fmt: skip
        if not result.passed:
            failure = ET.SubElement(case, "failure", {"message": result.describe(), "type": "SLO"})
            failure.text = _failure_text(result, summary.abort)
    ET.indent(testsuite)
    return ET.tostring(testsuite, encoding="unicode", xml_declaration=True) + "\n"


def _failure_text(result: SloResult, abort: Abort | None) -> str:
    text = f"{result.slo.expression}: {result.describe()}"
    if abort is not None and abort.result.slo.expression == result.slo.expression:
        when = "beyond recovery" if abort.final else "after the grace period"
        text += f"; the run was aborted at {abort.elapsed_s:.1f} s, broken {when}"
    return text


def write_junit(
    path: Path,
    summary: Summary,
    results: Sequence[SloResult],
    suite: str = "spendcast loadtest",
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit_xml(summary, results, suite), encoding="utf-8")


def markdown(summary: Summary, results: Sequence[SloResult], title: str, note: str = "") -> str:
    """A results table (per endpoint and total) and one verdict line per SLO (``note``: a
    sentence under the title, capacity's answer)."""
    failed = sum(not r.passed for r in results)
    if summary.abort is not None:
        verdict = f"⛔ aborted at {summary.abort.elapsed_s:.1f} s"
    elif failed:
        verdict = f"❌ {failed} of {len(results)} SLOs failed"
    else:
        verdict = "✅ passed"
    headers = ["endpoint", "requests", "failures", "rps", *(f"{h} ms" for h, _ in _COLUMNS)]
    lines = [f"### {title} · {summary.duration_s:.1f} s · {verdict}", "",
             *([f"**{note}**", ""] if note else []),
             "| " + " | ".join(headers) + " |",
             "| --- |" + " ---: |" * (len(headers) - 1)]  # fmt: skip
    rows = [(e.label, e.figures) for e in summary.endpoints]
    for label, figures in [*rows, ("**total**", summary.total)]:
        found = [figures.latency_ms.named(key) for _, key in _COLUMNS]
        values = ["–" if value is None else f"{value:,.2f}" for value in found]
        lines.append(f"| {_cell(label)} | {figures.requests:,} | {figures.failures:,} | "
                     f"{figures.rps:,.1f} | " + " | ".join(values) + " |")  # fmt: skip
    if results:
        lines += ["", "| SLO | observed | threshold | verdict |", "| --- | ---: | ---: | --- |"]
        for result in results:
            mark = "✅ holds" if result.passed else "❌ failed"
            lines.append(f"| `{_cell(result.slo.expression)}` | {result.describe_observed()} | "
                         f"{result.slo.describe_threshold()} | {mark} |")  # fmt: skip
    return "\n".join(lines) + "\n\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def append_step_summary(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as file:
        file.write(text)
