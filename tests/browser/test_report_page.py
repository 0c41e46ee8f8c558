"""The HTML report in headless Chromium: it renders offline, every chart is drawn."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from spendcast.loadtest.report.html import write_report
from tests.support.run_dirs import capacity_dir, profile_dir

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
    assert page.locator("h2", has_text="Profile of").count() == 1
    images = page.locator("img")
    # capacity: 2 charts + its run's 3; profile: its run's 3 + the flame graph (SVG)
    assert images.count() == 9
    widths = images.evaluate_all("imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
    assert all(width > 0 for width in widths), widths
    assert page.locator('img[src^="data:image/svg+xml"]').count() == 1
    assert [url for url in requests if not url.startswith(("file:", "data:"))] == []
    page.screenshot(path=str(artifacts_dir / "report.png"), full_page=True)
