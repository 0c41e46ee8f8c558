"""``spendcast ui`` end to end: a real server of known latency, the real page's endpoints.

What the tab shows (``GET /spendcast/stats``) is the run's own ``summary.json`` once the test
stops; a reset starts the "since reset" figures; the open model's rate changes while running
and becomes the plan's stages; ``compare`` and ``report`` take the saved runs; bad input ends
in one line and exit code 2.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from spendcast.loadtest.run.server_process import free_port
from tests.support.fixed_service import fixed_service
from tests.support.ui_session import run_cli, spendcast_ui, summary

SERVICE_MS = 20.0  # every answer takes at least this long: p50>=20ms holds, p99<5ms cannot


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row[key] for key in ("requests", "failures", "rps", "latency_ms")}


def test_the_tab_figures_are_the_saved_runs(tmp_path: Path) -> None:
    with (
        fixed_service(SERVICE_MS) as server,
        spendcast_ui(
            tmp_path, "--host", server.url, "--slo", "p50>=20ms", "--slo", "GET /predict:p99<5ms"
        ) as ui,  # fmt: skip
    ):
        assert ui.swarm(user_count=4, spawn_rate=4, host=server.url)["success"]
        live = ui.wait_for(40)
        assert live["state"] == "running"
        assert live["since_start"]["total"]["latency_ms"]["p50"] >= SERVICE_MS
        assert [(s["expression"], s["passed"]) for s in live["slos"]] == [
            ("p50>=20ms", True), ("GET /predict:p99<5ms", False)]  # fmt: skip
        assert live["open_model"] is None

        assert httpx.post(f"{ui.url}/stats/reset", timeout=10).status_code == 200
        before = live["since_start"]["total"]["requests"]
        after = ui.wait_for(before + 20)
        recent = after["since_reset"]["total"]["requests"]
        assert 0 < recent < after["since_start"]["total"]["requests"]
        assert after["since_reset"]["reset_at"] > after["started_at"]

        closed_dir, stopped = ui.stop()
        closed = summary(closed_dir)
        assert stopped["state"] == "stopped"
        assert _figures(stopped["since_start"]["total"]) == _figures(closed)
        assert [_figures(e) for e in stopped["since_start"]["endpoints"]] == [
            _figures(e) for e in closed["endpoints"]]  # fmt: skip
        assert [s["passed"] for s in closed["slos"]] == [True, False]
        assert closed["config"]["users"] == 4
        assert closed["config"]["load_plan"] is None
        for name in (
            "recording.json",
            "report.html",
            "locust_stats.csv",
            *closed["files"]["plots"],
        ):
            assert (closed_dir / name).is_file(), name
        assert closed["files"]["log"] is None  # Locust logs to the terminal

        # A bad rate is refused by the form, the test not started.
        refused = ui.swarm(user_count=5, spawn_rate=5, spendcast_rate="fast")
        assert not refused["success"]
        assert "arrival rate" in refused["message"]

        # The open model: 20 it/s, then 40 while running.
        assert ui.swarm(user_count=10, spawn_rate=10, spendcast_rate="20")["success"]
        first = ui.wait_for(30)
        assert first["open_model"]["rate"] == 20.0
        assert first["open_model"]["offered"] > 0
        assert ui.swarm(user_count=10, spawn_rate=10, spendcast_rate="40")["success"]
        ui.wait_for(first["since_start"]["total"]["requests"] + 80)
        open_dir, last = ui.stop()
        opened = summary(open_dir)
        assert open_dir != closed_dir
        plan = opened["config"]["load_plan"]
        assert plan["model"] == "rate"
        assert [t for _, t in plan["stages"]] == [20.0, 40.0]
        assert [s["target"] for s in opened["stages"]] == [20.0, 40.0]
        model = last["open_model"]
        assert opened["iterations"] == model["started"]
        assert opened["dropped"] == model["dropped"]
        assert _figures(last["since_start"]["total"]) == _figures(opened)

        served = httpx.get(f"{ui.url}/spendcast/runs/{open_dir.name}/summary.json", timeout=10)
        assert served.json() == opened

    compared = run_cli(["compare", str(closed_dir), str(open_dir), "--out", str(tmp_path / "c")])
    assert compared.returncode == 0, compared.stderr
    reported = run_cli(
        ["report", str(closed_dir), str(open_dir), "--out", str(tmp_path / "r.html")]
    )
    assert reported.returncode == 0, reported.stderr


def test_bad_input_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    bad_file = tmp_path / "broken.py"
    bad_file.write_text("this is not python\n")
    good_file = tmp_path / "my_test.py"
    good_file.write_text(
        "from locust import HttpUser, task\n\n\nclass ApiUser(HttpUser):\n"
        "    @task\n    def health(self):\n        self.client.get('/health')\n"
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        cases = [
            ["--web-port", port],
            ["-f", str(bad_file)],
            ["-f", str(good_file), "NoSuchUser"],
            ["--host", "127.0.0.1:8000"],
        ]
        for args in cases:
            result = run_cli(["ui", *args])
            assert result.returncode == 2, (args, result.stderr)
            assert len(result.stderr.strip().splitlines()) == 1, result.stderr
            assert "Traceback" not in result.stderr


def test_with_processes_the_master_shows_the_exact_merged_figures(tmp_path: Path) -> None:
    with (
        fixed_service(SERVICE_MS) as server,
        spendcast_ui(tmp_path, "--host", server.url, "--processes", "2") as ui,
    ):
        assert ui.swarm(user_count=6, spawn_rate=6, spendcast_rate="30")["success"]
        ui.wait_for(60)
        run_dir, stopped = ui.stop()
    saved = summary(run_dir)
    recording = json.loads((run_dir / "recording.json").read_text())
    assert len(recording["workers"]) == 2  # both processes handed over their last seconds
    assert _figures(stopped["since_start"]["total"]) == _figures(saved)
    assert saved["iterations"] == stopped["open_model"]["started"]
    assert saved["requests"] >= 60


def test_a_master_saves_the_running_test_on_ctrl_c(tmp_path: Path) -> None:
    master_port = free_port()
    with (
        fixed_service(SERVICE_MS) as server,
        spendcast_ui(
            tmp_path,
            "--host",
            server.url,
            "--master",
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            str(master_port),
        ) as ui,  # fmt: skip
    ):
        worker = subprocess.Popen(
            [sys.executable, "-m", "spendcast", "loadtest", "--worker", "--master-host",
             "127.0.0.1", "--master-port", str(master_port), "--processes", "2"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while len(httpx.get(f"{ui.url}/stats/requests", timeout=10).json()["workers"]) < 2:
                assert time.monotonic() < deadline, "the workers did not connect"
                time.sleep(0.3)
            assert ui.swarm(user_count=6, spawn_rate=6, spendcast_rate="30")["success"]
            live = ui.wait_for(40)
            ui.process.send_signal(signal.SIGINT)  # Ctrl-C while the test runs
            assert ui.process.wait(timeout=120) == 0
        finally:
            worker.terminate()
            worker.wait(timeout=60)
    (run_dir,) = ui.runs.iterdir()
    saved = summary(run_dir)
    recording = json.loads((run_dir / "recording.json").read_text())
    assert len(recording["workers"]) == 2
    assert saved["requests"] >= live["since_start"]["total"]["requests"]
    assert saved["config"]["load_plan"]["model"] == "rate"
    assert saved["config"]["workers"] == 2
