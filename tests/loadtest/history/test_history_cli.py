"""Runs appended by the real CLI, listed, shown and trended as a team would, on a SQLite file
and on a shared PostgreSQL; like-for-like keys; an unreachable or newer store; import."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.loadtest.history.support import listed, loadtest, spendcast, summary
from tests.support.fixed_service import fixed_service
from tests.support.user_locustfiles import FIXED_SERVICE

pytestmark = pytest.mark.e2e


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_runs_are_remembered_with_their_context_and_trended(tmp_path: Path) -> None:
    require_tool("git")
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "app.py").write_text("SPEED = 1\n")
    git(repo, "add", "app.py")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    url = f"sqlite:///{tmp_path / 'store' / 'history.db'}"
    runs = [repo / "runs" / "one", repo / "runs" / "two"]
    with fixed_service(5) as server:
        first = loadtest(server.url, runs[0], "--users", "2", cwd=repo, url=url).stdout
        (repo / "app.py").write_text("SPEED = 2\n")  # the working tree is now dirty
        loadtest(server.url, runs[1], "--users", "2", "--slo", "p99<5s", cwd=repo, url=url)
    assert "history: run #" not in first  # --quiet: only the run directory
    stored = listed(repo, url)
    assert [Path(run["run_dir"]) for run in stored] == [r.resolve() for r in runs]
    assert stored[0]["key"] == stored[1]["key"]
    head = git(repo, "rev-parse", "HEAD")
    for run, run_dir, dirty in zip(stored, runs, (False, True), strict=True):
        meta = run["metadata"]
        assert (meta["git_commit"], meta["git_dirty"]) == (head, dirty)
        assert meta["command"].startswith(f"spendcast loadtest --host {server.url} ")
        assert meta["machine"]["cores"] == os.cpu_count()
        assert meta["kit_version"] == summary(run_dir)["spendcast_version"]
        total = next(f for f in run["figures"] if f["endpoint"] == "total")
        expected = summary(run_dir)
        assert total["requests"] == expected["requests"]
        assert total["rps"] == expected["rps"]
        assert total["p99"] == expected["latency_ms"]["p99"]
        assert total["p99_9"] == expected["latency_ms"]["p99_9"]
        predict = next(f for f in run["figures"] if f["endpoint"] == "GET /predict")
        assert predict["p50"] == expected["endpoints"][0]["latency_ms"]["p50"]
        assert json.loads((run_dir / "history.json").read_text())["git_commit"] == head
    assert [run["verdict"] for run in stored] == ["no SLO", "every SLO held (1)"]

    table = spendcast("history", cwd=repo, url=url).stdout
    for run in stored:
        assert f"#{run['id']} " in table
        assert f"{run['figures'][0]['rps']:,.1f}" in table
    assert table.count(stored[0]["key"][:12]) == 2
    shown = spendcast("history", "show", str(runs[1]), cwd=repo, url=url).stdout
    assert f"run:           #{stored[1]['id']}" in shown
    assert f"{head[:8]}*" in shown

    out = tmp_path / "trend"
    trend = json.loads(spendcast("history", "trend", "--metric", "p99", "--json", "--out",
                                 str(out), cwd=repo, url=url).stdout)  # fmt: skip
    assert [p["value"] for p in trend["points"]] == [summary(r)["latency_ms"]["p99"] for r in runs]
    assert [p["commit_label"] for p in trend["points"]] == [head[:8], head[:8] + "*"]
    assert (out / "trend.png").stat().st_size > 0
    page = (out / "index.html").read_text()
    assert "Trend of p99 on total" in page
    assert "data:image/png;base64," in page
    text = spendcast("history", "trend", "--metric", "rps", "--endpoint", "GET /predict",
                     "--out", str(out), cwd=repo, url=url).stdout  # fmt: skip
    assert f"{summary(runs[1])['endpoints'][0]['rps']:,.3f}" in text


def test_a_changed_locustfile_is_another_key_and_said_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'history.db'}"
    (tmp_path / "my_test.py").write_text(FIXED_SERVICE)
    with fixed_service(2) as server:
        for name in ("file", "changed"):
            loadtest(server.url, tmp_path / name, "-f", "my_test.py", "Caller", cwd=tmp_path,
                     url=url, seconds=1)  # fmt: skip
            (tmp_path / "my_test.py").write_text(FIXED_SERVICE + "# changed\n")
    runs = listed(tmp_path, url)
    assert runs[0]["key"] != runs[1]["key"]
    files = [run["key_inputs"]["users"]["files"] for run in runs]
    assert files[0] != files[1]
    assert {**runs[0]["key_inputs"], "users": None} == {**runs[1]["key_inputs"], "users": None}
    done = spendcast("compare", str(tmp_path / "file"), str(tmp_path / "changed"), "--out",
                     str(tmp_path / "cmp"), cwd=tmp_path, url=url)  # fmt: skip
    assert f"keys {runs[0]['key'][:12]} and {runs[1]['key'][:12]} differ in users.files" in (
        done.stderr
    )
    compared = listed(tmp_path, url, "--kind", "compare")
    assert f"verdict: {compared[0]['verdict']}" in done.stdout
    assert f"history: run #{compared[0]['id']}, key {compared[0]['key'][:12]}" in done.stdout
    assert Path(compared[0]["run_dir"]) == (tmp_path / "cmp").resolve()


def test_an_unreachable_or_newer_store_never_loses_the_run(tmp_path: Path) -> None:
    down = "postgresql+psycopg://postgres:secret@127.0.0.1:1/history"
    good = f"sqlite:///{tmp_path / 'history.db'}"
    runs = tmp_path / "runs"
    with fixed_service(2) as server:
        lost = loadtest(server.url, runs / "lost", "--users", "3", cwd=tmp_path, url=down)
        off = loadtest(server.url, runs / "off", "--no-history", cwd=tmp_path, url=good,
                       seconds=1)  # fmt: skip
    assert "report:" in lost.stdout
    assert lost.stderr.startswith("warning: the run is not in the history (history store ")
    assert "127.0.0.1:1/history unavailable" in lost.stderr
    assert lost.stderr.count("\n") == 1
    assert f"spendcast history import {runs / 'lost'}" in lost.stderr
    assert "secret" not in lost.stderr
    assert off.stderr == ""
    assert not (runs / "off" / "history.json").exists()

    imported = spendcast("history", "import", str(runs / "lost"), str(runs / "off"),
                         str(tmp_path), cwd=tmp_path, url=good)  # fmt: skip
    assert "2 of 3 directories imported" in imported.stdout
    assert imported.stderr.startswith(f"skipped {tmp_path}")
    again = spendcast("history", "import", str(runs / "lost"), cwd=tmp_path, url=good)
    assert "already stored" in again.stdout
    stored = {Path(run["run_dir"]).name: run for run in listed(tmp_path, good)}
    assert set(stored) == {"lost", "off"}
    assert stored["lost"]["metadata"]["command"].endswith("--users 3")  # its history.json
    assert stored["lost"]["metadata"]["imported"] is False
    assert stored["off"]["metadata"]["imported"] is True
    assert stored["lost"]["key"] != stored["off"]["key"]  # 3 users, 2 users; 2 s, 1 s
    assert stored["lost"]["key_inputs"]["host"] == stored["off"]["key_inputs"]["host"]

    unknown = spendcast("history", "show", "99", cwd=tmp_path, url=good, code=2)
    assert unknown.stderr == "Error: no run 99 in the history (spendcast history lists them)\n"
    from sqlalchemy import create_engine, text

    engine = create_engine(good)
    with engine.begin() as connection:
        connection.execute(text("UPDATE history_schema SET version = 99"))
    engine.dispose()
    newer = spendcast("history", cwd=tmp_path, url=good, code=1)
    assert newer.stderr.count("\n") == 1
    assert "newer spendcast (schema 99" in newer.stderr
    with fixed_service(2) as server:
        run = loadtest(server.url, runs / "new", cwd=tmp_path, url=good, seconds=1)
    assert run.stderr.count("\n") == 1
    assert "newer spendcast (schema 99" in run.stderr
    assert (runs / "new" / "summary.json").exists()


def test_a_shared_postgres_store_written_from_two_working_directories(
    tmp_path: Path, postgres_url: str
) -> None:
    team = [tmp_path / "alice", tmp_path / "bob"]
    with fixed_service(2) as server:
        for workdir in team:
            workdir.mkdir()
            loadtest(server.url, Path("runs") / "nightly", cwd=workdir, url=postgres_url,
                     seconds=1)  # fmt: skip
    runs = listed(team[1], postgres_url)
    assert [Path(run["run_dir"]) for run in runs] == [w / "runs" / "nightly" for w in team]
    assert runs[0]["key"] == runs[1]["key"]
    trend = json.loads(spendcast("history", "trend", "--json", "--out", str(tmp_path / "t"),
                                 cwd=team[0], url=postgres_url).stdout)  # fmt: skip
    assert [p["value"] for p in trend["points"]] == [
        summary(w / "runs" / "nightly")["latency_ms"]["p99"] for w in team]  # fmt: skip
    assert not (team[0] / "runs" / "history.db").exists()
