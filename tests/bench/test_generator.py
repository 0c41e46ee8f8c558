"""bench.generator: both generators' commands, option detection, ratios paired by round, and a
real short measurement of each generator against the counting hello."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.counting_asgi import COUNT_PATH
from bench.generator import measure, served
from bench.generator_report import Run, digest, paired, ratio_rows, run_rows
from bench.generators import (
    LOCUSTFILE,
    SPENDCAST_USER,
    USER_RATE_ENV,
    Case,
    Load,
    has_option,
    plain_command,
    spendcast_command,
    spendcast_help,
    unsupported,
)
from bench.servers import RunningServer, ServerSpec, running
from bench.suites import uvicorn_command

ROOT = Path(__file__).resolve().parents[2]
LOAD = Load("http://127.0.0.1:9", users=8, run_time_s=7)


def test_both_generators_run_the_same_load() -> None:
    case = Case("2 processes", processes=2)
    plain, plain_env = plain_command(case, LOAD)
    kit, kit_env = spendcast_command(case, LOAD, Path("/tmp/run"))
    for env in (plain_env, kit_env):  # a free port of their own, not Locust's 5557
        assert env["LOCUST_MASTER_BIND_PORT"] == env["LOCUST_MASTER_NODE_PORT"] != "5557"
    assert plain_command(Case("1 process"), LOAD)[1] == {}
    assert plain[-1] == "HealthUser"
    assert str(LOCUSTFILE) in plain
    for command in (plain, kit):
        text = " ".join(command)
        assert "--host http://127.0.0.1:9" in text
        assert "--users 8" in text
        assert "--processes 2" in text
    assert "--run-time 7s" in " ".join(plain)
    assert "--duration 7s" in " ".join(kit)
    assert " ".join(SPENDCAST_USER) in " ".join(kit)
    assert "--out /tmp/run" in " ".join(kit)


def test_rate_paces_plain_users_and_asks_spendcast_for_the_rate() -> None:
    case = Case("rate", rate=2000)
    plain, env = plain_command(case, LOAD)
    assert plain[-1] == "PacedHealthUser"
    assert env == {USER_RATE_ENV: "250"}
    kit, _ = spendcast_command(case, LOAD, Path("/tmp/run"))
    assert kit[-4:] == ["--rate", "2000", "--max-users", "8"]  # the pool: plain's users at most
    assert "--users" not in kit


def test_options_are_found_where_click_lists_them() -> None:
    text = (
        "Options:\n  --users INTEGER    Users; with --rate, as many as needed.\n"
        "  -r, --rate FLOAT   Requests per second.\n  --quiet\n"
    )
    assert has_option(text, "--rate")
    assert has_option(text, "--quiet")
    assert not has_option(text.replace("  -r, --rate FLOAT", "  --ratio FLOAT"), "--rate")
    real = spendcast_help()
    assert has_option(real, "--processes")
    assert unsupported(Case("2 processes", processes=2), real) is None
    reason = unsupported(Case("rate 10/s", rate=10), "Options:\n  --users INTEGER\n")
    assert reason == "skipped 'rate 10/s': `spendcast loadtest` has no --rate option yet"


def run(generator: str, round_: int, requests: int, cpu: float, case: str = "1 process") -> Run:
    return Run(generator, case, round_, requests, 2.0, cpu, 0.0, 0.4, 0.1)


RUNS = [
    run("plain", 0, 10_000, 1.0),
    run("spendcast", 0, 9_600, 0.99),
    run("plain", 1, 12_000, 1.0),
    run("spendcast", 1, 11_000, 1.0),
    run("plain", 2, 5_000, 1.0),  # no spendcast run in round 2: not paired
]


def test_ratios_pair_the_generators_round_by_round() -> None:
    assert paired(RUNS, "1 process", "rps") == pytest.approx([0.96, 11_000 / 12_000])
    assert paired(RUNS, "1 process", "per_cpu_s") == pytest.approx(
        [9_600 / 0.99 / 10_000, 11_000 / 12_000]
    )
    result = digest(RUNS)["1 process"]
    assert result["requests_per_cpu_s"]["min"] == pytest.approx(11_000 / 12_000)
    assert result["met"] is False  # median 0.944 < 0.97
    [row] = ratio_rows(RUNS)
    assert row[0] == "1 process"
    assert row[-1] == "BELOW"
    rows = run_rows(RUNS)
    assert [r[:2] for r in rows] == [["plain", "1 process"], ["spendcast", "1 process"]]
    assert rows[0][2] == "5,000"  # median req/s of 2,500, 5,000 and 6,000 over 2 s


@pytest.fixture(scope="module")
def counting_hello(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    spec = ServerSpec("counting", uvicorn_command("bench.counting_asgi:app", 1), cwd=ROOT)
    with running(spec, tmp_path_factory.mktemp("server")) as server:
        yield server


def test_the_counting_hello_counts_what_it_answers(counting_hello: RunningServer) -> None:
    before = served(counting_hello)
    for _ in range(5):
        with urllib.request.urlopen(counting_hello.url + "/health") as response:
            assert json.loads(response.read()) == {"status": "ok"}
    assert served(counting_hello) == before + 5
    with urllib.request.urlopen(counting_hello.url + COUNT_PATH) as response:
        assert int(response.read()) == before + 5  # reading the count is not counted


@pytest.mark.parametrize("generator", ["plain", "spendcast"])
def test_a_real_measurement(generator: str, counting_hello: RunningServer, tmp_path: Path) -> None:
    load = Load(counting_hello.url, users=4, run_time_s=5)
    case = Case("1 process")
    command, env = (
        plain_command(case, load)
        if generator == "plain"
        else spendcast_command(case, load, tmp_path / "run")
    )
    result = measure(
        command, env, counting_hello, generator=generator, case=case.name, round_=0,
        cpus=None, warmup_s=0.5, window_s=1.0, log=tmp_path / "output.log",
    )  # fmt: skip
    assert result.requests > 0
    assert result.locust_cpu_s > 0
    assert result.per_cpu_s > 0
    assert result.window_s >= 1.0
    assert result.locust_waits > 0  # its loop waited for answers
    if generator == "spendcast":
        assert result.parent_cpu_s >= 0
        summary = json.loads((tmp_path / "run" / "summary.json").read_text())
        assert summary["requests"] > result.requests  # the whole run, warm-up included
    else:
        assert result.parent_cpu_s == 0
