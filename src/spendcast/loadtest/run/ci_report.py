"""What a CI system reads from a run: JUnit XML and the GitHub job summary (Markdown).

JUnit (``--junit FILE``): one ``<testsuite>``, one ``<testcase>`` per SLO named by its
expression, a ``<failure message="observed X vs threshold Y">`` when it did not hold; a run
``--abort-on-fail`` ended carries the abort in the failure's text and the suite's properties.
The job summary (appended to ``$GITHUB_STEP_SUMMARY`` when set, never truncated: earlier steps
wrote there too) holds the results table and the SLO verdicts.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from spendcast.loadtest.shared.slo import SloResult

STEP_SUMMARY_ENV: Final = "GITHUB_STEP_SUMMARY"
_COLUMNS: Final = (("p50", "p50"), ("p95", "p95"), ("p99", "p99"), ("p99.9", "p99_9"),
                   ("max", "max"))  # fmt: skip


def junit_xml(
    summary: Mapping[str, Any], results: Sequence[SloResult], suite: str = "spendcast loadtest"
) -> str:
    """The JUnit XML document of one run's SLO verdicts."""
    config = summary.get("config", {})
    abort = summary.get("abort")
    failures = sum(not r.passed for r in results)
    testsuite = ET.Element("testsuite", {
        "name": suite, "tests": str(len(results)), "failures": str(failures), "errors": "0",
        "skipped": "0", "time": f"{summary['duration_s']:.3f}", "timestamp": summary["timestamp"],
    })  # fmt: skip
    properties = ET.SubElement(testsuite, "properties")
    shown = {**{k: config.get(k) for k in ("host", "scenario", "users", "duration_s")},
             "requests": summary["requests"], "failures": summary["failures"],
             "aborted": summary.get("aborted", False)}  # fmt: skip
    for name, value in shown.items():
        ET.SubElement(properties, "property", {"name": name, "value": str(value)})
    for result in results:
        case = ET.SubElement(testsuite, "testcase", {
            "name": result.slo.expression, "classname": suite,
            "time": f"{summary['duration_s']:.3f}",
        })  # fmt: skip
        if not result.passed:
            failure = ET.SubElement(case, "failure", {"message": result.describe(), "type": "SLO"})
            failure.text = _failure_text(result, abort)
    ET.indent(testsuite)
    return ET.tostring(testsuite, encoding="unicode", xml_declaration=True) + "\n"


def _failure_text(result: SloResult, abort: Mapping[str, Any] | None) -> str:
    text = f"{result.slo.expression}: {result.describe()}"
    if abort is not None and abort["expression"] == result.slo.expression:
        when = "beyond recovery" if abort["final"] else "after the grace period"
        text += f"; the run was aborted at {abort['elapsed_s']:.1f} s, broken {when}"
    return text


def write_junit(
    path: Path,
    summary: Mapping[str, Any],
    results: Sequence[SloResult],
    suite: str = "spendcast loadtest",
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit_xml(summary, results, suite), encoding="utf-8")


def markdown(
    summary: Mapping[str, Any], results: Sequence[SloResult], title: str, note: str = ""
) -> str:
    """A results table (per endpoint and total) and one verdict line per SLO (``note``: a
    sentence under the title, capacity's answer)."""
    failed = sum(not r.passed for r in results)
    if summary.get("aborted"):
        verdict = f"⛔ aborted at {summary['abort']['elapsed_s']:.1f} s"
    elif failed:
        verdict = f"❌ {failed} of {len(results)} SLOs failed"
    else:
        verdict = "✅ passed"
    headers = ["endpoint", "requests", "failures", "rps", *(f"{h} ms" for h, _ in _COLUMNS)]
    lines = [f"### {title} · {summary['duration_s']:.1f} s · {verdict}", "",
             *([f"**{note}**", ""] if note else []),
             "| " + " | ".join(headers) + " |",
             "| --- |" + " ---: |" * (len(headers) - 1)]  # fmt: skip
    rows = [(f"{e['method']} {e['name']}", e) for e in summary["endpoints"]]
    for label, figures in [*rows, ("**total**", summary)]:
        latency = figures["latency_ms"]
        values = ["–" if latency[key] is None else f"{latency[key]:,.2f}" for _, key in _COLUMNS]
        lines.append(f"| {_cell(label)} | {figures['requests']:,} | {figures['failures']:,} | "
                     f"{figures['rps']:,.1f} | " + " | ".join(values) + " |")  # fmt: skip
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
