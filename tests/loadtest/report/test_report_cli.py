"""``spendcast report``: one self-contained page per set of run directories."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from spendcast.loadtest.compare.pairs import compare_dirs
from spendcast.loadtest.compare.report import write_comparison
from spendcast.loadtest.report.html import kinds
from tests.support.run_dirs import loadtest_dir

pytestmark = pytest.mark.e2e


def report(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "spendcast", "report", *arguments],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip


def test_a_run_and_a_comparison_on_one_self_contained_page(tmp_path: Path) -> None:
    fast = loadtest_dir(tmp_path / "fast", service_ms=10)
    slow = loadtest_dir(tmp_path / "slow", service_ms=20)
    write_comparison(compare_dirs(fast, slow), tmp_path / "cmp")
    assert kinds(tmp_path / "cmp") == ["comparison"]
    page = tmp_path / "page.html"
    done = report(str(fast), str(tmp_path / "cmp"), "--out", str(page))
    assert done.returncode == 0, done.stderr
    assert str(page) in done.stdout
    html = page.read_text()
    assert "Load test: predict on http://127.0.0.1:" in html
    assert "Comparison: fast → slow" in html
    sources = re.findall(r'src="([^"]*)"', html)
    assert len(sources) == 3 + 2  # the run's three charts, the comparison's two
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r'(href|src)="https?:', html)  # nothing to fetch: it opens offline


def test_one_directory_gets_its_index_html(tmp_path: Path) -> None:
    run = loadtest_dir(tmp_path / "run")
    done = report(str(run))
    assert done.returncode == 0, done.stderr
    assert (run / "index.html").read_text().startswith("<!DOCTYPE html>")


def test_a_directory_that_is_no_run_exits_2(tmp_path: Path) -> None:
    done = report(str(tmp_path))
    assert done.returncode == 2
    assert "not a spendcast run directory" in done.stderr
