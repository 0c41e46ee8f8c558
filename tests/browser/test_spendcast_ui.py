"""The lab's flow with ``spendcast ui``: the real page, driven as a learner does, against a
server of known latency; what the "spendcast" tab shows is the saved run's ``summary.json``.

With ``SPENDCAST_DOCS_SCREENSHOTS=1`` the tab's screenshot also replaces the one in docs/img.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.support.fixed_service import fixed_service
from tests.support.ui_session import spendcast_ui, summary

DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "spendcast-ui-tab.png"


def _cells(page: Page, scope: str, name: str) -> list[str]:
    row = page.locator("tr", has=page.get_by_text(scope, exact=True)).filter(
        has=page.get_by_text(name, exact=True)
    )
    return [cell.strip() for cell in row.first.inner_text().split("\t")]


def _as_shown(value: float) -> str:
    """A number as the page's JavaScript writes it (27 for 27.0, 27.244 as is)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def test_the_tab_shows_the_saved_runs_figures(
    tmp_path: Path, page: Page, artifacts_dir: Path
) -> None:
    with (
        fixed_service(20) as server,
        spendcast_ui(tmp_path, "--slo", "p50>=20ms", "--slo", "p99<5ms") as ui,
    ):
        page.goto(ui.url)
        page.fill("input[name=userCount]", "8")
        page.fill("input[name=spawnRate]", "8")
        page.fill("input[name=host]", server.url)
        page.get_by_text("Custom parameters").click()
        page.fill("input[name=spendcastRate]", "20")
        page.get_by_role("button", name="Start").click()
        expect(page.get_by_role("button", name="Stop")).to_be_visible(timeout=15_000)
        first = ui.wait_for(30)
        assert first["open_model"]["rate"] == 20.0

        # The rate, changed while running, as Locust's user count is: Edit, Update.
        page.get_by_role("button", name="Edit").click()
        page.get_by_text("Custom parameters").click()
        page.fill("input[name=spendcastRate]", "40")
        page.get_by_role("button", name="Update").click()
        ui.wait_for(first["since_start"]["total"]["requests"] + 60)
        assert ui.stats()["open_model"]["rate"] == 40.0

        page.get_by_role("tab", name="spendcast").click()
        expect(page.get_by_text("rate 40 it/s")).to_be_visible(timeout=10_000)
        expect(page.get_by_text("held (observed", exact=False)).to_be_visible()
        expect(page.get_by_text("BREACHED (observed", exact=False)).to_be_visible()
        page.screenshot(path=artifacts_dir / "spendcast-tab.png", full_page=True)
        if os.environ.get("SPENDCAST_DOCS_SCREENSHOTS"):
            shutil.copyfile(artifacts_dir / "spendcast-tab.png", DOCS_SCREENSHOT)

        page.get_by_role("button", name="Stop").click()
        run_dir, _ = ui.saved(1)
        # Locust's page stops polling when the test stops: the saved run shows once reloaded.
        page.reload()
        page.get_by_role("tab", name="spendcast").click()
        expect(page.get_by_text(str(run_dir))).to_be_visible(timeout=15_000)
        saved = summary(run_dir)
        total = _cells(page, "since start", "total")
        endpoint = _cells(page, "since start", "GET /predict")
        page.screenshot(path=artifacts_dir / "stopped.png", full_page=True)

    latency = saved["latency_ms"]
    keys = ("p50", "p90", "p95", "p99", "p99_9", "max")
    expected = [saved["requests"], saved["failures"], saved["rps"], *(latency[k] for k in keys)]
    assert total[2:11] == [_as_shown(value) for value in expected]
    assert endpoint[2:11] == total[2:11]  # one endpoint: the same figures
    assert [t for _, t in saved["config"]["load_plan"]["stages"]] == [20.0, 40.0]
    assert saved["iterations"] > 0
    assert [s["passed"] for s in saved["slos"]] == [True, False]
