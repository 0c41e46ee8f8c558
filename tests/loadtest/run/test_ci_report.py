"""JUnit XML read back by a JUnit parser (junitparser) and by ElementTree; the job summary."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from junitparser import Failure, JUnitXml, TestSuite

from spendcast.loadtest.run.ci_report import append_step_summary, markdown, write_junit
from spendcast.loadtest.shared.abort import Abort
from spendcast.loadtest.shared.recording import Recording
from spendcast.loadtest.shared.recording_file import read_recording
from spendcast.loadtest.shared.run_settings import RunSettings
from spendcast.loadtest.shared.run_summary import Summary
from spendcast.loadtest.shared.slo import SloResult, parse_slo
from spendcast.loadtest.shared.summary import build_summary, check_slos

START = 1_700_000_000.0
SLOS = ("p(95)<20", "GET /search?q=a|b:rate<0.005", "max<1s", "dropped==0")


def _run(tmp_path: Path, abort: bool = False) -> tuple[Summary, tuple[SloResult, ...]]:
    """3 seconds of GET /search?q=a|b: 100 a second at 10 ms, 2 failed at 30 ms."""
    recording = Recording()
    recording.started_at, recording.stopped_at = START, START + 3
    for second in range(3):
        for _ in range(100):
            recording.record("GET", "/search?q=a|b", 10.0, False, START + second)
    for _ in range(2):
        recording.record("GET", "/search?q=a|b", 30.0, True, START + 1)
    recording.write(tmp_path / "recording.json")
    loaded = read_recording(tmp_path / "recording.json")
    results = check_slos(loaded, [parse_slo(s) for s in SLOS])
    stop = Abort(results[1], 2.0, False) if abort else None
    summary = build_summary(loaded, RunSettings(host="http://h", scenario="predict"), results,
                            abort=stop)  # fmt: skip
    return summary, results


def _suite(path: Path) -> TestSuite:
    """The one test suite of the file (junitparser wraps a root <testsuite> in a JUnitXml)."""
    parsed = JUnitXml.fromfile(str(path))
    suites = list(parsed) if isinstance(parsed, JUnitXml) else [parsed]
    assert len(suites) == 1
    assert isinstance(suites[0], TestSuite)
    return suites[0]


def test_junit_has_one_case_per_slo_and_failures_say_observed_vs_threshold(tmp_path: Path) -> None:
    summary, results = _run(tmp_path)
    path = tmp_path / "reports" / "slo.xml"
    write_junit(path, summary, results)
    suites = _suite(path)
    assert (suites.tests, suites.failures, suites.errors) == (4, 1, 0)
    cases = {case.name: case for case in suites}
    assert list(cases) == list(SLOS)
    assert [bool(cases[name].result) for name in SLOS] == [False, True, False, False]
    failure = cases["GET /search?q=a|b:rate<0.005"].result[0]
    assert isinstance(failure, Failure)
    assert failure.message == "observed 0.662 % vs threshold < 0.5 %"
    root = ET.parse(path).getroot()
    assert root.tag == "testsuite"
    assert {"name", "tests", "failures", "errors", "time", "timestamp"} <= set(root.attrib)
    assert float(root.attrib["time"]) == summary.duration_s
    for case in root.iter("testcase"):
        assert set(case.attrib) >= {"name", "classname", "time"}
        assert [child.tag for child in case] in ([], ["failure"])
    properties = {p.attrib["name"]: p.attrib["value"] for p in root.iter("property")}
    assert properties["scenario"] == "predict"
    assert properties["aborted"] == "False"


def test_junit_of_a_holding_run_has_no_failure(tmp_path: Path) -> None:
    summary, results = _run(tmp_path)
    holding = tuple(r for r in results if r.passed)
    write_junit(tmp_path / "ok.xml", summary, holding)
    suite = _suite(tmp_path / "ok.xml")
    assert (suite.tests, suite.failures) == (3, 0)
    assert all(case.is_passed for case in suite)


def test_an_aborted_run_says_so_in_its_failure(tmp_path: Path) -> None:
    summary, results = _run(tmp_path, abort=True)
    write_junit(tmp_path / "abort.xml", summary, results)
    root = ET.parse(tmp_path / "abort.xml").getroot()
    failure = root.find("testcase/failure")
    assert failure is not None
    assert "aborted at 2.0 s" in str(failure.text)
    assert (summary.aborted, summary.passed) == (True, False)


def test_the_step_summary_is_appended_with_table_and_verdicts(tmp_path: Path) -> None:
    summary, results = _run(tmp_path)
    path = tmp_path / "step_summary.md"
    path.write_text("## an earlier step\n\n", encoding="utf-8")
    text = markdown(summary, results, "spendcast loadtest predict")
    append_step_summary(path, text)
    append_step_summary(path, text)
    content = path.read_text(encoding="utf-8")
    assert content.startswith("## an earlier step\n\n### spendcast loadtest predict · 3.0 s")
    assert content.count("❌ 1 of 4 SLOs failed") == 2
    assert "| GET /search?q=a\\|b | 302 | 2 |" in content
    assert "| `p(95)<20` | 10 ms | < 20 ms | ✅ holds |" in content
    assert "| `GET /search?q=a\\|b:rate<0.005` | 0.662 % | < 0.5 % | ❌ failed |" in content
    assert "| `dropped==0` | 0 | == 0 | ✅ holds |" in content
