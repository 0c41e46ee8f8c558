"""``spendcast loadtest -f FILE [USER_CLASS]...``: a user's own locustfile, as a new user writes it.

Each locustfile is written here, in the lab's style (a ``Cookie`` header written in the file,
``/health`` then ``/predict`` with random parameters, some requests named with ``name=``,
a neighbour module imported), knowing nothing of spendcast. Every count in ``summary.json``,
per request name, must equal the server's own: inference rows in its SQLite file for
``/predict``, lines of its API log per path. One server serves the module's runs, each run
counted in its own window of its logs (tests/support/server_ledger.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.support.server_ledger import Ledger, Window, shared_server
from tests.support.user_locustfiles import (
    CUSTOM_CLIENT,
    FIXED_URL,
    LAB_STYLE,
    RANDOM_NAME,
    TWO_USERS,
    write_locustfile,
)

pytestmark = pytest.mark.e2e

TOKEN = "user-locustfile-token-93a7"


def spendcast(*args: str, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it: no spendcast variable, in the locustfile's folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPENDCAST_")}
    return subprocess.run([sys.executable, "-m", "spendcast", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)  # fmt: skip


def summary(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "summary.json").read_text())
    return data


def counts(data: dict[str, Any]) -> dict[tuple[str, str], tuple[int, int]]:
    return {(e["method"], e["name"]): (e["requests"], e["failures"]) for e in data["endpoints"]}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, trained_model_dir: Path) -> Iterator[Ledger]:
    with shared_server(tmp_path_factory.mktemp("api"), trained_model_dir, TOKEN) as ledger:
        yield ledger


def check_lab_run(served: Window, data: dict[str, Any]) -> None:
    """Each name's count equals what the server logged and recorded; nothing failed."""
    measured = counts(data)
    assert set(measured) == {("GET", "/health"), ("GET", RANDOM_NAME), ("GET", FIXED_URL)}
    random, fixed = measured[("GET", RANDOM_NAME)][0], measured[("GET", FIXED_URL)][0]
    assert data["failures"] == 0
    assert random > 0
    assert fixed > 0
    assert served.logged("GET", "/predict") == random + fixed == served.rows
    assert served.logged("GET", "/health") == measured[("GET", "/health")][0] + 1  # host check


@pytest.mark.parametrize("base", ["FastHttpUser", "HttpUser"])
def test_a_lab_style_locustfile_counts_like_the_server(
    tmp_path: Path, api: Ledger, base: str
) -> None:
    tests = tmp_path / "perf"
    locustfile = write_locustfile(tests, LAB_STYLE, "locustfile.py", base=base, token=TOKEN)
    out = tmp_path / "run"
    with api.window() as served:
        done = spendcast(
            "loadtest", "--host", api.server.url, "-f", "locustfile.py", "--users", "3",
            "--duration", "3s", "--out", str(out), "--slo", f"{RANDOM_NAME}:p99<30s",
            "--slo", "/health:errors<=0%", cwd=tests,
        )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    data = summary(out)
    check_lab_run(served, data)
    assert [(s["expression"], s["passed"], s["observed"] is not None) for s in data["slos"]] == [
        (f"{RANDOM_NAME}:p99<30s", True, True), ("/health:errors<=0%", True, True),
    ]  # fmt: skip
    config = data["config"]
    assert config["scenario"] == "locustfile.py: ApiUser"
    assert config["user_classes"] == ["ApiUser"]
    (described,) = config["locustfile"]["files"]
    assert config["locustfile"]["path"] == "locustfile.py"
    assert described == {"path": str(locustfile),
                         "sha256": hashlib.sha256(locustfile.read_bytes()).hexdigest()}  # fmt: skip
    assert TOKEN not in (out / "summary.json").read_text()
    for name in ("report.html", "locust_stats.csv", "recording.json", *data["files"]["plots"]):
        assert (out / name).stat().st_size > 0
    assert RANDOM_NAME in done.stdout


def test_a_lab_style_locustfile_at_a_fixed_arrival_rate(tmp_path: Path, api: Ledger) -> None:
    # --rate puts the file's own ApiUser on the timetable: its wait_time no longer counts.
    tests = tmp_path / "perf"
    write_locustfile(tests, LAB_STYLE, "lab_style.py", base="FastHttpUser", token=TOKEN)
    out = tmp_path / "run"
    with api.window() as served:
        done = spendcast(
            "loadtest", "--host", api.server.url, "-f", "lab_style.py", "--rate", "20",
            "--duration", "4s", "--out", str(out), "--quiet", "--slo", "dropped<1",
            "--slo", f"{RANDOM_NAME}:p99<30s", cwd=tests,
        )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    data = summary(out)
    check_lab_run(served, data)
    assert data["config"]["load_plan"]["model"] == "rate"
    assert data["config"]["user_classes"] == ["ApiUser"]
    assert data["config"]["locustfile"]["path"] == "lab_style.py"
    # 20 iterations/s for 4 s, each one task: /health then the random predict, or the fixed one.
    assert data["dropped"] == 0
    assert data["iterations"] == 80
    measured = counts(data)
    health, fixed = measured[("GET", "/health")][0], measured[("GET", FIXED_URL)][0]
    assert measured[("GET", RANDOM_NAME)][0] == health
    assert health + fixed == data["iterations"]
    assert [s["passed"] for s in data["slos"]] == [True, True]


def test_an_slo_on_a_name_the_file_gave_fails_with_exit_3(tmp_path: Path, api: Ledger) -> None:
    locustfile = write_locustfile(
        tmp_path / "perf", LAB_STYLE, "my_test.py", base="HttpUser", token=TOKEN
    )
    out = tmp_path / "run"
    with api.window() as served:
        done = spendcast(
            "loadtest", "--host", api.server.url, "-f", str(locustfile), "--users", "2",
            "--duration", "2s", "--out", str(out), "--quiet",
            "--slo", f"{RANDOM_NAME}:p50<0.001ms", "--slo", f"{FIXED_URL}:errors<1%",
            cwd=tmp_path,
        )  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr
    data = summary(out)
    check_lab_run(served, data)
    assert [s["passed"] for s in data["slos"]] == [False, True]
    assert all(s["observed"] is not None for s in data["slos"])
    assert "1 of 2 SLOs failed" in done.stderr


def test_a_custom_client_firing_the_request_event_is_measured(tmp_path: Path, api: Ledger) -> None:
    write_locustfile(tmp_path / "perf", CUSTOM_CLIENT, "script_test.py", token=TOKEN)
    out = tmp_path / "run"
    with api.window() as served:
        done = spendcast(
            "loadtest", "--host", api.server.url, "-f", "perf/script_test.py", "--users", "2",
            "--duration", "2s", "--out", str(out), "--slo", "health check: urllib:p99<30s",
            cwd=tmp_path,
        )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    data = summary(out)
    requests, failures = counts(data)[("SCRIPT", "health check: urllib")]
    assert failures == 0
    assert requests > 0
    assert served.logged("GET", "/health") == requests + 1
    assert data["slos"][0]["passed"] is True
    assert data["slos"][0]["observed"] is not None


def test_a_user_file_on_two_locust_processes(tmp_path: Path, api: Ledger) -> None:
    write_locustfile(
        tmp_path / "perf", LAB_STYLE, "locustfile.py", base="FastHttpUser", token=TOKEN
    )
    out = tmp_path / "run"
    with api.window() as served:
        done = spendcast(
            "loadtest", "--host", api.server.url, "-f", "perf/locustfile.py", "--users", "4",
            "--duration", "3s", "--processes", "2", "--out", str(out), "--quiet", cwd=tmp_path,
        )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    data = summary(out)
    check_lab_run(served, data)
    assert data["config"]["processes"] == 2


def test_user_classes_and_tags_choose_what_runs(tmp_path: Path, api: Ledger) -> None:
    write_locustfile(tmp_path, TWO_USERS, "two_users.py", token=TOKEN)
    runs = {
        "writer": ("Writer",),
        "reader-without-health": ("Reader", "--exclude-tags", "health"),
        "health-only": ("--tags", "health"),
    }
    with api.window() as served, ThreadPoolExecutor(len(runs)) as pool:  # the runs at once
        started = {
            name: pool.submit(spendcast, "loadtest", "--host", api.server.url, "-f",
                              "two_users.py", *args, "--users", "2", "--duration", "2s",
                              "--out", str(tmp_path / name), "--quiet", cwd=tmp_path)
            for name, args in runs.items()
        }  # fmt: skip
    results = {name: future.result() for name, future in started.items()}
    for name, done in results.items():
        assert done.returncode == 0, name + done.stdout + done.stderr
    names = {name: {n for _, n in counts(summary(tmp_path / name))} for name in runs}
    assert names == {
        "writer": {"writer predict"},
        "reader-without-health": {"reader predict"},
        "health-only": {"reader health"},
    }
    assert summary(tmp_path / "writer")["config"]["user_classes"] == ["Writer"]
    assert summary(tmp_path / "health-only")["config"]["user_classes"] == ["Reader", "Writer"]
    assert summary(tmp_path / "health-only")["config"]["tags"] == ["health"]
    everything = sum(summary(tmp_path / name)["requests"] for name in runs)
    assert served.rows == served.logged("GET", "/predict")
    assert served.logged("GET", "/predict") + served.logged("GET", "/health") == everything + 3


BAD_FILES = {
    "missing": (None, "missing.py: Could not find"),
    "name_error.py": ("from locust import HttpUser\n\nvalue = 1\nprint(valeu)\n",
                      "name_error.py:4: NameError: name 'valeu' is not defined"),
    "syntax_error.py": ("from locust import HttpUser\n\ndef broken(:\n    pass\n",
                        "syntax_error.py:3: SyntaxError"),
    "bad_neighbour.py": ("import broken_helper\n", "broken_helper.py:2: ZeroDivisionError"),
    "no_user.py": ("from locust import HttpUser\n\n\nclass Base(HttpUser):\n    abstract = True\n",
                   "no_user.py: no user class"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_bad_locustfile_is_one_line_and_exit_2(tmp_path: Path, name: str) -> None:
    source, expected = BAD_FILES[name]
    (tmp_path / "broken_helper.py").write_text("RATE = 1\nRATIO = RATE / 0\n")
    path = "missing.py" if source is None else name
    if source is not None:
        (tmp_path / name).write_text(source)
    # Every command checks the file the same way; one of them is enough for the other cases.
    commands = [["loadtest", "--host", "http://127.0.0.1:9"]]
    if name == "name_error.py":
        commands += [["capacity", "--host", "http://127.0.0.1:9"], ["profile", "--server-cmd", "x"],
                     ["compare", "--baseline-cmd", "x", "--candidate-cmd", "y"]]  # fmt: skip
    for command in commands:
        done = spendcast(*command, "-f", path, cwd=tmp_path, timeout=120)
        assert done.returncode == 2, [*command, done.stdout, done.stderr]
        assert "Traceback" not in done.stdout + done.stderr
        assert done.stderr.strip().count("\n") == 0, done.stderr
        assert expected in done.stderr, done.stderr


def test_a_folder_and_a_comma_separated_list_run_like_plain_locust(
    tmp_path: Path, api: Ledger
) -> None:
    # -f perf: every .py of the folder (its neighbour module customers.py holds no user);
    # -f a.py,b.py: both files' users; a file given twice (folder and file) loads once.
    perf = tmp_path / "perf"
    write_locustfile(perf, LAB_STYLE, "lab_style.py", base="FastHttpUser", token=TOKEN)
    write_locustfile(tmp_path, TWO_USERS, "two_users.py", token=TOKEN)
    runs = {"folder": "perf", "list": "perf/lab_style.py, two_users.py,perf"}
    with api.window() as served, ThreadPoolExecutor(len(runs)) as pool:  # the runs at once
        started = {
            name: pool.submit(spendcast, "loadtest", "--host", api.server.url, "-f", given,
                              "--users", "3", "--duration", "2s", "--out", str(tmp_path / name),
                              "--quiet", cwd=tmp_path)
            for name, given in runs.items()
        }  # fmt: skip
    results = {name: future.result() for name, future in started.items()}
    for name, done in results.items():
        assert done.returncode == 0, name + done.stdout + done.stderr
    folder, listed = summary(tmp_path / "folder"), summary(tmp_path / "list")
    assert folder["config"]["user_classes"] == ["ApiUser"]
    assert {f["path"] for f in folder["config"]["locustfile"]["files"]} == {
        str(perf / "customers.py"), str(perf / "lab_style.py")}  # fmt: skip
    assert listed["config"]["user_classes"] == ["ApiUser", "Reader", "Writer"]
    assert [f["path"] for f in listed["config"]["locustfile"]["files"]] == [
        str(perf / "lab_style.py"),
        str(tmp_path / "two_users.py"),
        str(perf / "customers.py"),
    ]
    assert {n for _, n in counts(folder)} == {"/health", RANDOM_NAME, FIXED_URL}
    assert {n for _, n in counts(listed)} >= {RANDOM_NAME, "reader predict", "writer predict"}
    assert folder["failures"] == listed["failures"] == 0
    everything = folder["requests"] + listed["requests"]
    assert served.logged("GET", "/predict") + served.logged("GET", "/health") == everything + 2


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://example.invalid/x.py", "https://example.invalid/x.py: a URL: download the "
         "file first (curl -fsSL -o x.py URL) and give its path to -f"),
        ("users.py,http://127.0.0.1:9/perf/", "http://127.0.0.1:9/perf/: a URL: download the "
         "file first (curl -fsSL -o locustfile.py URL) and give its path to -f"),
        ("empty", "empty: Could not find any locustfiles in directory"),
    ],
)  # fmt: skip
def test_a_url_or_an_empty_folder_is_one_line_and_exit_2(
    tmp_path: Path, given: str, expected: str
) -> None:
    (tmp_path / "empty").mkdir()
    write_locustfile(tmp_path, TWO_USERS, "users.py", token=TOKEN)
    for command in (["loadtest", "--host", "http://127.0.0.1:9"], ["loadtest", "--worker"]):
        done = spendcast(*command, "-f", given, cwd=tmp_path, timeout=120)
        assert done.returncode == 2, [*command, done.stdout, done.stderr]
        assert "Traceback" not in done.stdout + done.stderr
        assert done.stderr.strip().count("\n") == 0, done.stderr
        assert done.stderr.strip().startswith(f"Error: {expected}"), done.stderr


def test_unknown_classes_and_conflicts_are_one_line_and_exit_2(tmp_path: Path) -> None:
    write_locustfile(tmp_path, TWO_USERS, "two_users.py", token=TOKEN)
    cases = {
        ("-f", "two_users.py", "Admin"): "unknown user class Admin: the file has Reader, Writer",
        ("-f", "two_users.py", "--scenario", "health"): "--scenario and -f/--locustfile exclude",
        ("Reader",): "user class Reader needs -f/--locustfile",
    }
    for args, expected in cases.items():
        done = spendcast("loadtest", "--host", "http://127.0.0.1:9", *args, cwd=tmp_path)
        assert done.returncode == 2, args
        assert "Traceback" not in done.stderr
        assert done.stderr.strip() == f"Error: {expected}" or expected in done.stderr, done.stderr
        assert done.stderr.strip().count("\n") == 0, done.stderr
    done = spendcast("compare", "--baseline-cmd", "x", "--candidate-cmd", "y", "-f",
                     "two_users.py", "Nobody", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2
    assert "unknown user class Nobody" in done.stderr
    assert done.stderr.strip().count("\n") == 0
