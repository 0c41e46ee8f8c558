"""The HTML report in headless Chromium: it renders offline, every chart is drawn."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from spendcast.loadtest.report.html import write_report
from tests.support.run_dirs import capacity_dir, comparison_dir, profile_dir

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_capacity_and_profile_report_renders_with_its_charts(
    page: Page, artifacts_dir: Path, tmp_path: Path
) -> None:
    capacity = capacity_dir(tmp_path / "capacity")
    profile = profile_dir(tmp_path / "profile")
    html = write_report([capacity, profile], tmp_path / "report.html")
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(html.as_uri())
    page.wait_for_load_state("load")
    assert page.title().startswith("spendcast report")
    assert "holds" in page.locator("p.answer").first.inner_text()
    assert page.locator("h2", has_text="Capacity search").count() == 1
    # The search's run is shown as its steps, never as one run that failed its SLO.
    assert page.locator("h3", has_text="The load run:").count() == 1
    assert "✗ fails" not in page.locator("body").inner_text()
    answer = page.locator("p.answer").first
    assert "verdict-bad" not in (answer.get_attribute("class") or "")
    assert answer.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(238, 246, 238)"
    held = page.locator("span.good", has_text="holds").first
    assert held.evaluate("e => getComputedStyle(e).color") == "rgb(46, 125, 50)"
    assert page.locator("h2", has_text="Profile of").count() == 1
    images = page.locator("img")
    # capacity: 2 charts + its run's 3; profile: its run's 3 + the flame graph (SVG)
    assert images.count() == 9
    widths = images.evaluate_all("imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
    assert all(width > 0 for width in widths), widths
    assert page.locator('img[src^="data:image/svg+xml"]').count() == 1
    assert [url for url in requests if not url.startswith(("file:", "data:"))] == []
    page.screenshot(path=str(artifacts_dir / "report.png"), full_page=True)


@pytest.mark.parametrize(
    ("baseline_ms", "candidate_ms", "background"),
    [(40.0, 20.0, "rgb(238, 246, 238)"), (20.0, 40.0, "rgb(251, 236, 235)"),
     (20.0, 20.0, "rgb(243, 246, 249)")],
)  # fmt: skip
def test_the_comparison_verdict_box_is_coloured_by_its_verdict(
    page: Page, tmp_path: Path, baseline_ms: float, candidate_ms: float, background: str
) -> None:
    """Green when the candidate is faster, red when slower, grey for no difference."""
    html = comparison_dir(tmp_path / "cmp", baseline_ms, candidate_ms) / "index.html"
    page.goto(html.as_uri())
    box = page.locator("p.answer")
    assert box.count() == 1
    assert box.evaluate("e => getComputedStyle(e).backgroundColor") == background
