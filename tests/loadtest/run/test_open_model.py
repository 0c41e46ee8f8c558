"""``spendcast loadtest --rate/--stages`` against a server whose stalls are known exactly.

``freezing_app`` answers at once except during ``F`` seconds every ``P`` (epoch-aligned), when
every request waits for the freeze to end. Under a constant arrival rate over whole periods, a
share ``F/P`` of the requests wait uniformly between 0 and ``F``: the p99 is ``F - 0.01·P``
(``expected_percentile_s``). The open model must report it within 15 %; the closed model,
whose few users are stuck in the freeze instead of sending, reports far less (coordinated
omission). Counts are checked against the server's own (``/count``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from spendcast.cli import main
from spendcast.loadtest.shared.contract import DUMP_ENV
from tests.support.freezing import freezing_server, received
from tests.support.freezing_app import expected_percentile_s
from tests.support.server import free_port

FREEZE_S = 1.0
PERIOD_S = 4.0
RATE = 40


def loadtest(host: str, out: Path, *options: str, env: dict[str, str] | None = None) -> Any:
    command = [sys.executable, "-m", "spendcast", "loadtest", "--host", host, "--out", str(out),
               "--quiet", *options]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=180, check=False,
        env=None if env is None else {**os.environ, **env},
    )  # fmt: skip
    summary = out / "summary.json"
    return done, json.loads(summary.read_text()) if summary.exists() else None


@pytest.mark.e2e
def test_the_open_model_sees_the_stalls_the_closed_model_hides(tmp_path: Path) -> None:
    truth_ms = expected_percentile_s(99, FREEZE_S, PERIOD_S) * 1000  # 960 ms
    with freezing_server(FREEZE_S, PERIOD_S) as server:
        # Three whole periods: the frozen share is F/P whatever the phase.
        done, opened = loadtest(server.url, tmp_path / "open", "--rate", str(RATE),
                                "--duration", "12s")  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        sent = received(server.url).get("/predict", 0)
        done, closed = loadtest(server.url, tmp_path / "closed", "--users", "2",
                                "--think-time", "0.01", "--duration", "12s")  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
    # Every due iteration ran, on the timetable: 40/s x 12 s, each one request.
    assert opened["dropped"] == 0
    assert opened["iterations"] == RATE * 12 == opened["requests"] == sent
    p99 = opened["latency_ms"]["p99"]
    assert truth_ms * 0.85 <= p99 <= truth_ms * 1.15, (p99, truth_ms)
    # The closed model measured only the few requests its users had in flight at each freeze.
    assert closed["latency_ms"]["p99"] < truth_ms / 10
    assert closed["iterations"] is None
    assert closed["dropped"] == 0


@pytest.mark.e2e
def test_processes_share_the_rate_asked(tmp_path: Path) -> None:
    dumps = tmp_path / "dumps"
    with freezing_server(0, PERIOD_S) as server:
        done, summary = loadtest(server.url, tmp_path / "run", "--rate", str(RATE),
                                 "--duration", "10s", "--processes", "2",
                                 env={DUMP_ENV: str(dumps)})  # fmt: skip
        sent = received(server.url).get("/predict", 0)
    assert done.returncode == 0, done.stdout + done.stderr
    asked = RATE * 10
    assert asked * 0.95 <= sent <= asked * 1.05, sent
    assert summary["iterations"] + summary["dropped"] == asked
    assert summary["requests"] == sent
    # Each process ran its half of the timetable, not a timetable of its own.
    assert _shares(dumps) == [asked // 2, asked // 2]


def _shares(dumps: Path) -> list[int]:
    """The iterations each worker process had on its timetable (started or dropped)."""
    shares = []
    for dump in sorted(dumps.glob("worker-*.json")):
        arrivals = json.loads(dump.read_text())["arrivals"].values()
        shares.append(sum(a["started"] + a["dropped"] for a in arrivals))
    return shares


@pytest.mark.e2e
def test_a_master_shares_the_rate_between_its_workers(tmp_path: Path) -> None:
    port, dumps, out = free_port(), tmp_path / "dumps", tmp_path / "run"
    spendcast = [sys.executable, "-m", "spendcast", "loadtest"]
    with freezing_server(0, PERIOD_S) as server:
        master = subprocess.Popen(
            [*spendcast, "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port",
             str(port), "--expect-workers", "2", "--host", server.url, "--rate", "30",
             "--duration", "6s", "--out", str(out), "--quiet"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        worker = [*spendcast, "--worker", "--master-port", str(port), "--worker-dump", str(dumps)]
        workers = [
            subprocess.Popen(worker, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(2)
        ]
        output, _ = master.communicate(timeout=180)
        assert [worker.wait(timeout=60) for worker in workers] == [0, 0]
        sent = received(server.url).get("/predict", 0)
    assert master.returncode == 0, output
    summary = json.loads((out / "summary.json").read_text())
    assert 180 * 0.95 <= sent <= 180 * 1.05, sent
    assert summary["iterations"] + summary["dropped"] == 180
    assert _shares(dumps) == [90, 90]


@pytest.mark.e2e
def test_a_pool_too_small_drops_iterations_and_the_slo_on_them_fails(tmp_path: Path) -> None:
    with freezing_server(FREEZE_S, 2.0) as server:
        done, summary = loadtest(server.url, tmp_path / "run", "--rate", str(RATE),
                                 "--duration", "6s", "--max-users", "5",
                                 "--slo", "dropped<1")  # fmt: skip
        sent = received(server.url).get("/predict", 0)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "dropped<1" in done.stdout
    # Each freeze holds the 5 users; the iterations due meanwhile were never sent.
    assert summary["dropped"] > 0
    assert summary["iterations"] + summary["dropped"] == RATE * 6
    assert summary["iterations"] == summary["requests"] == sent
    assert summary["slos"][0]["observed"] == summary["dropped"]
    assert sum(row["dropped"] for row in summary["timeseries"]) == summary["dropped"]


def _sums_match(summary: dict[str, Any]) -> None:
    stages = summary["stages"]
    for key in ("requests", "failures", "dropped", "late"):
        assert sum(stage[key] for stage in stages) == summary[key], key
    assert [stage["start_s"] for stage in stages[1:]] == [s["end_s"] for s in stages[:-1]]


@pytest.mark.e2e
def test_stages_give_figures_per_stage_that_add_up(tmp_path: Path) -> None:
    with freezing_server(0, PERIOD_S) as server:
        done, rated = loadtest(server.url, tmp_path / "rate", "--rate", "0",
                               "--stages", "2s:20,2s:20,2s:0")  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        done, users = loadtest(server.url, tmp_path / "users", "--stages", "2s:2,2s:4,2s:4",
                               "--think-time", "0.05")  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        sent = received(server.url).get("/predict", 0)
    # 0 -> 20/s over 2 s, 20/s for 2 s, 20 -> 0/s over 2 s: 20 + 40 + 20 iterations.
    assert [s["target"] for s in rated["stages"]] == [20, 20, 0]
    assert rated["iterations"] + rated["dropped"] == 80
    assert sum(s["iterations"] for s in rated["stages"]) == rated["iterations"]
    assert rated["stages"][1]["iterations"] > rated["stages"][0]["iterations"]
    _sums_match(rated)
    assert rated["config"]["load_plan"]["model"] == "rate"
    assert rated["config"]["duration_s"] == 6
    # Users: ramped from 0 to 2, then to 4, then held.
    assert [s["target"] for s in users["stages"]] == [2, 4, 4]
    assert max(row["users"] or 0 for row in users["timeseries"]) == 4
    _sums_match(users)
    assert users["stages"][1]["requests"] > users["stages"][0]["requests"] > 0
    assert rated["requests"] + users["requests"] == sent


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--rate", "-1"), "--rate"),
        (("--rate", "fast"), "--rate"),
        (("--rate", "0"), "starts no iteration"),
        (("--stages", "30s"), "DURATION:TARGET"),
        (("--stages", "30s:x"), "is a number"),
        (("--stages", "30s:10", "--duration", "1m"), "drop --duration"),
        (("--stages", "30s:2.5"), "whole numbers"),
        (("--rate", "5", "--users", "3"), "closed model"),
        (("--rate", "5", "--think-time", "0.1"), "closed model's pause"),
        (("--rate", "5", "--max-users", "0"), "--max-users"),
        (("--max-users", "5"), "use it with --rate"),
        (("--rate", "5", "--max-users", "1", "--processes", "2"), "without user"),
    ],
)
def test_bad_load_plans_exit_2_with_one_line(args: tuple[str, ...], message: str) -> None:
    result = CliRunner().invoke(main, ["loadtest", "--host", "http://127.0.0.1:9", *args])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    assert message in errors[0]
    assert "Traceback" not in result.output
