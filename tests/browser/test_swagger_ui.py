"""Swagger UI at /docs, as a learner uses it: authorize, "Try it out" on /predict, execute."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from spendcast.monitoring import count_rows
from tests.support.server import running_server


def test_try_it_out_on_predict_returns_a_number(
    workdir: Path, page: Page, artifacts_dir: Path
) -> None:
    token = "swagger-test-token"
    with running_server(workdir, token=token) as server:
        page.goto(f"{server.url}/docs")

        page.get_by_role("button", name="Authorize").first.click()
        bearer_form = page.locator("form", has=page.locator("#auth-bearer-value"))
        bearer_form.locator("#auth-bearer-value").fill(token)
        bearer_form.locator("button[type=submit]").click()
        page.locator(".modal-ux button.btn-done").first.click()

        predict = page.locator(".opblock-get", has_text="/predict").first
        predict.locator(".opblock-summary").click()
        predict.get_by_role("button", name="Try it out").click()
        predict.locator("select").first.select_option("PhD")
        predict.locator("input[placeholder=age]").fill("12")
        predict.locator("input[placeholder=income]").fill("1000")
        predict.get_by_role("button", name="Execute").click()

        live = predict.locator(".live-responses-table tbody .response").first
        expect(live.locator(".response-col_status")).to_have_text("200", timeout=15_000)
        body = live.locator(".response-col_description pre").first.inner_text()
        page.screenshot(path=artifacts_dir / "swagger-predict.png", full_page=True)
        assert float(body) > 0

    assert count_rows(f"sqlite:///{server.database_path}") == 1
