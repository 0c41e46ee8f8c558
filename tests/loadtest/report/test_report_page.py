"""What the report page says: a capacity search read as its steps, verdicts coloured by verdict.

The page is parsed (``html.parser``), so the tests read what a reader sees: the text of each
section and the colour class of each verdict.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from spendcast.loadtest.compare.stats import NO_DIFFERENCE
from spendcast.loadtest.report.html import build_page
from tests.support.run_dirs import comparison_dir, loadtest_output


class Page(HTMLParser):
    """The text of the page and of each element carrying a class, in document order."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.text: list[str] = []
        self.classed: list[tuple[str, str, list[str]]] = []  # (tag, class, text)
        self.rows: list[list[str]] = []  # the cells of every table row with <td> cells
        self._open: list[tuple[str, str, list[str]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("img", "meta", "br"):
            return
        entry: tuple[str, str, list[str]] = (tag, dict(attrs).get("class") or "", [])
        self._open.append(entry)
        if tag == "tr":
            self.rows.append([])
        if entry[1]:
            self.classed.append(entry)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            name, _, text = self._open.pop()
            if name == "td":
                self.rows[-1].append("".join(text).strip())
            if name == tag:
                break

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        for entry in self._open:
            entry[2].append(data)

    def all_text(self) -> str:
        return "".join(self.text)

    def of_class(self, name: str) -> list[tuple[str, str]]:
        """(class attribute, text) of every element whose classes include ``name``."""
        return [(c, "".join(t)) for _, c, t in self.classed if name in c.split()]


@pytest.mark.parametrize(
    ("baseline_ms", "candidate_ms", "verdict", "colour"),
    [
        (40.0, 20.0, "faster", "verdict-good"),
        (20.0, 40.0, "slower", "verdict-bad"),
        (20.0, 20.0, "no significant difference", "verdict-neutral"),
    ],
)
def test_the_comparison_box_is_coloured_by_its_verdict(
    tmp_path: Path, baseline_ms: float, candidate_ms: float, verdict: str, colour: str
) -> None:
    out = comparison_dir(tmp_path / "cmp", baseline_ms, candidate_ms)
    assert json.loads((out / "comparison.json").read_text())["verdict"] == verdict
    page = Page(build_page([out]))
    ((classes, text),) = page.of_class("answer")
    assert colour in classes.split(), (classes, text)
    assert text.startswith("branch is " + verdict if verdict != NO_DIFFERENCE else "branch vs main")
    # The figures' own verdicts: green only for better, red only for worse.
    assert {t for _, t in page.of_class("good")} <= {"faster", "fewer errors"}
    assert {t for _, t in page.of_class("bad")} <= {"slower", "more errors"}
    expected = {"faster": "good", "slower": "bad"}.get(verdict)
    if expected:
        assert len(page.of_class(expected)) == 4  # throughput, p50, p95, p99


def test_a_mixed_comparison_gets_its_own_colour(tmp_path: Path) -> None:
    out = comparison_dir(tmp_path / "cmp", 20.0, 40.0)
    data = json.loads((out / "comparison.json").read_text())
    data["verdict"] = "mixed: better on rps, worse on p99"
    (out / "comparison.json").write_text(json.dumps(data))
    ((classes, _),) = Page(build_page([out])).of_class("answer")
    assert "verdict-mixed" in classes.split()


@pytest.mark.e2e
def test_a_capacity_directory_shows_its_run_as_the_steps_it_was(capacity_run: Path) -> None:
    directory = capacity_run
    capacity = json.loads((directory / "capacity.json").read_text())
    steps = capacity["steps"]
    assert len(steps) >= 2
    page = Page(build_page([directory]))
    text = page.all_text()
    # No whole-run SLO verdict and no starting user count: they read as a failed search.
    assert "✗ fails" not in text
    assert "The load run:" in text
    assert f"The load run: {len(steps)} steps, every step together" in text
    assert "users by step: " + " → ".join(f"{s['load']:g}" for s in steps) in text
    assert "The SLO is judged per step" in text
    assert f"Diagnosis: {capacity['diagnosis']['bottleneck']}" in text  # and why, in words
    assert capacity["diagnosis"]["evidence"][0] in text
    # The answer, in a green box when a load held.
    (box,) = page.of_class("answer")
    assert box[1] == capacity["answer"]
    assert capacity["found"]
    assert "verdict-bad" not in box[0].split()
    # One row per step: its load, its throughput, its percentiles, its verdict.
    rows = [row for row in page.rows if row and row[0].isdigit()]
    assert [row[0] for row in rows] == [str(s["index"]) for s in steps]
    for row, step in zip(rows, steps, strict=True):
        assert row[1] == f"{step['load']:g}"
        assert row[3] == f"{step['figures']['rps']:,.1f}"
        latency = step["figures"]["latency_ms"]
        assert row[5:8] == [f"{latency[k]:,.2f}" for k in ("p50", "p95", "p99")]
        assert row[9].startswith(step["verdict"])
    verdicts = {text for _, text in page.of_class("good")} | {t for _, t in page.of_class("bad")}
    assert verdicts <= {"holds", "breaks"}
    assert "holds" in verdicts


@pytest.mark.e2e
def test_a_run_ended_by_abort_on_fail_says_so_in_a_red_box_and_in_the_terminal(
    tmp_path: Path,
) -> None:
    # A max below any real answer time is broken beyond recovery at the first live sample.
    aborted = tmp_path / "aborted"
    printed = loadtest_output(aborted, 10, 60, "--slo", "max<0.001ms", "--slo", "p95<60s",
                              "--abort-on-fail", exit_code=3)  # fmt: skip
    summary = json.loads((aborted / "summary.json").read_text())
    assert summary["aborted"] is True
    elapsed = summary["abort"]["elapsed_s"]
    assert f"aborted at {elapsed:.1f} s of 60 s" in printed  # the results table's title
    ((classes, text),) = Page(build_page([aborted])).of_class("answer")
    assert "verdict-bad" in classes.split()
    assert text.startswith(f"Aborted at {elapsed:.1f}s, max<0.001ms broken beyond recovery: "
                           "observed "), text  # fmt: skip
    assert text.endswith(" (--abort-on-fail, 60 s planned)"), text


@pytest.mark.e2e
def test_a_run_gets_a_verdict_box_only_with_slos(tmp_path: Path) -> None:
    held, failed, plain = tmp_path / "held", tmp_path / "failed", tmp_path / "plain"
    loadtest_output(held, 10, 2, "--quiet", "--slo", "p95<60s", "--slo", "errors<=0%")
    loadtest_output(failed, 10, 2, "--quiet", "--slo", "p95<60s", "--slo", "max<0.001ms",
                    exit_code=3)  # fmt: skip
    loadtest_output(plain, 10, 2, "--quiet")
    ((classes, text),) = Page(build_page([held])).of_class("answer")
    assert (classes, text) == ("answer", "Every SLO held (2)")
    ((classes, text),) = Page(build_page([failed])).of_class("answer")
    assert (classes, text) == ("answer verdict-bad", "1 of 2 SLOs failed")
    assert Page(build_page([plain])).of_class("answer") == []
