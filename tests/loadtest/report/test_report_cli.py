"""``spendcast report``: one self-contained page per set of run directories.

One fast (10 ms) and one slow (20 ms) load test, run once for the module: the tests only read
them, and write their pages elsewhere (or into a copy), through the CLI run in the test's
process (``tests/support/in_process.py``).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from spendcast.loadtest.compare.pairs import compare_dirs
from spendcast.loadtest.compare.report import write_comparison
from spendcast.loadtest.report.html import kinds
from tests.support.in_process import Done, spendcast
from tests.support.run_dirs import fast_and_slow

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return fast_and_slow(tmp_path_factory.mktemp("runs"), 10, 20)


def report(*arguments: str) -> Done:
    return spendcast("report", *arguments)


def test_a_run_and_a_comparison_on_one_self_contained_page(
    tmp_path: Path, runs: dict[str, Path]
) -> None:
    fast, slow = runs["fast"], runs["slow"]
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


def test_one_directory_gets_its_index_html(tmp_path: Path, runs: dict[str, Path]) -> None:
    run = shutil.copytree(runs["fast"], tmp_path / "run")
    assert not (run / "index.html").exists()
    done = report(str(run))
    assert done.returncode == 0, done.stderr
    assert (run / "index.html").read_text().startswith("<!DOCTYPE html>")


def test_a_directory_that_is_no_run_exits_2(tmp_path: Path) -> None:
    done = report(str(tmp_path))
    assert done.returncode == 2
    assert "not a spendcast run directory" in done.stderr
