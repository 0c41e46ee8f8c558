"""The lab's flow, as a learner does it: plain `locust`, the web form, start swarming, stop."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.support.server import free_port, running_server

REPO_ROOT = Path(__file__).resolve().parents[2]


def _wait_for_http(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "locust exited before its web UI came up"
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise TimeoutError(url)


def test_locust_web_ui_swarms_the_api(workdir: Path, page: Page, artifacts_dir: Path) -> None:
    token = "browser-test-token"
    with running_server(workdir, token=token) as server:
        web_port = free_port()
        env = {**os.environ, "SPENDCAST_API_TOKEN": token}
        locust = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "locust",
                "--web-host",
                "127.0.0.1",
                "--web-port",
                str(web_port),
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        web = f"http://127.0.0.1:{web_port}"
        try:
            _wait_for_http(web, locust)
            page.goto(web)
            page.fill("input[name=userCount]", "5")
            page.fill("input[name=spawnRate]", "5")
            page.fill("input[name=host]", server.url)
            page.get_by_role("button", name="Start").click()

            expect(page.get_by_role("button", name="Stop")).to_be_visible(timeout=15_000)
            deadline = time.monotonic() + 30
            stats: dict[str, object] = {}
            while time.monotonic() < deadline:
                stats = httpx.get(f"{web}/stats/requests", timeout=5).json()
                total = next(r for r in stats["stats"] if r["name"] == "Aggregated")  # type: ignore[attr-defined]
                if total["num_requests"] >= 50:
                    break
                time.sleep(0.5)
            expect(page.get_by_text("/predict").first).to_be_visible()
            page.screenshot(path=artifacts_dir / "swarming.png", full_page=True)
            page.get_by_role("button", name="Stop").click()
            expect(page.get_by_text("STOPPED", exact=False).first).to_be_visible(timeout=15_000)
        finally:
            locust.terminate()
            locust.wait(timeout=30)

        rows = stats["stats"]
        assert isinstance(rows, list)
        total = next(r for r in rows if r["name"] == "Aggregated")
        assert total["num_requests"] >= 50
        assert total["num_failures"] == 0
        assert any(r["name"] == "/predict" and r["num_requests"] > 0 for r in rows)
