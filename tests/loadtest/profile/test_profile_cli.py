"""``spendcast profile`` finds the deliberately slow function of a server under load."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.fixed_service import REPO, command, environment
from tests.support.in_process import spendcast

pytestmark = pytest.mark.e2e


def test_profile_names_the_slow_function(tmp_path: Path) -> None:
    server = " ".join(["env", *(f"{k}={v}" for k, v in environment(0, cpu_ms=5).items()),
                       *command()])  # fmt: skip
    out = tmp_path / "profile"
    done = subprocess.run(
        [sys.executable, "-m", "spendcast", "profile", "--server-cmd", server, "--users", "4",
         "--duration", "4s", "--top", "5", "--out", str(out)],
        capture_output=True, text=True, timeout=120, check=False, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads((out / "profile.json").read_text())
    assert data["samples"] > 50
    top_own = data["top_own"][0]
    assert (top_own["function"], top_own["file"]) == (
        "slow_checksum",
        "tests/support/fixed_service_app.py",
    )
    assert top_own["percent"] > 40
    assert "slow_checksum" in [row["function"] for row in data["top_application"]]
    assert "slow_checksum" in done.stdout
    svg = (out / "flamegraph.svg").read_text()
    assert svg.startswith("<svg")
    assert "slow_checksum" in svg
    speedscope = json.loads((out / "profile.speedscope.json").read_text())
    names = {frame["name"] for frame in speedscope["shared"]["frames"]}
    assert "slow_checksum" in names
    assert sum(speedscope["profiles"][0]["weights"]) == data["samples"]
    assert (out / "summary.json").exists()
    assert (out / "index.html").exists()


def test_profile_needs_one_target() -> None:
    done = spendcast("profile")
    assert done.returncode == 2
    assert "--pid" in done.stderr
    assert "--server-cmd" in done.stderr


def test_profile_under_a_users_own_locustfile(tmp_path: Path) -> None:
    from tests.support.user_locustfiles import FIXED_SERVICE

    locustfile = tmp_path / "my_test.py"
    locustfile.write_text(FIXED_SERVICE)
    server = " ".join(["env", *(f"{k}={v}" for k, v in environment(0, cpu_ms=5).items()),
                       *command()])  # fmt: skip
    out = tmp_path / "profile"
    done = subprocess.run(
        [sys.executable, "-m", "spendcast", "profile", "--server-cmd", server, "-f",
         str(locustfile), "Caller", "--users", "2", "--duration", "3s", "--out", str(out)],
        capture_output=True, text=True, timeout=120, check=False, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads((out / "profile.json").read_text())
    assert "slow_checksum" in [row["function"] for row in data["top_application"]]
    summary = json.loads((out / "summary.json").read_text())
    assert [e["name"] for e in summary["endpoints"]] == ["my predict"]
    assert summary["requests"] > 0
    assert summary["config"]["user_classes"] == ["Caller"]
