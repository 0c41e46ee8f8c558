"""``spendcast loadtest`` options: usage errors exit 2, an unreachable host exits 1."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from spendcast.cli import main
from tests.loadtest.run.test_replay import write_log
from tests.support.server import free_port


def _invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["loadtest", *args], env=env)
    return result.exit_code, result.output


def test_help_explains_every_option_and_its_env_var() -> None:
    code, output = _invoke("--help")
    assert code == 0
    for option in ("host", "scenario", "users", "spawn-rate", "duration", "processes", "slo"):
        assert f"--{option}" in output
        assert f"SPENDCAST_LOADTEST_{option.upper().replace('-', '_')}" in output
    assert "Exit codes" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--host", "http://127.0.0.1:9", "--duration", "3x"), "invalid duration"),
        (("--host", "http://127.0.0.1:9", "--slo", "p95<50"), "time unit"),
        (("--host", "http://127.0.0.1:9", "--scenario", "soak"), "soak"),
        (("--host", "http://127.0.0.1:9", "--users", "0"), "--users"),
        ((), "--host"),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...], message: str) -> None:
    code, output = _invoke(*args, env={"SPENDCAST_LOADTEST_HOST": ""})
    assert code == 2
    assert message in output


WORKER_TAKES = ("(a worker takes only --master-host, --master-port, --processes, --worker-dump, "
                "--think-time and -f/--locustfile)")  # fmt: skip


@pytest.mark.parametrize(
    ("args", "env", "refused"),
    [
        (("--abort-on-fail",), {}, "--abort-on-fail belongs"),
        (("--slo", "p95<1s", "--abort-on-fail", "--abort-grace", "3s"), {},
         "--slo, --abort-on-fail, --abort-grace belong"),
        (("--host", "http://127.0.0.1:9", "--users", "5", "--duration", "1m"), {},
         "--host, --users, --duration belong"),
        (("--rate", "10", "--max-users", "5"), {}, "--rate, --max-users belong"),
        (("--scenario", "health", "--tags", "a", "--quiet"), {},
         "--scenario, --tags, --quiet belong"),
        (("--expect-workers", "2", "--out", "run", "--junit", "j.xml"), {},
         "--out, --junit, --expect-workers belong"),
        ((), {"SPENDCAST_LOADTEST_SLO": "p95<1s"}, "--slo (SPENDCAST_LOADTEST_SLO) belongs"),
        (("Reader",), {}, "USER_CLASS Reader belongs"),
    ],
)  # fmt: skip
def test_a_worker_refuses_the_masters_options_in_one_line(
    args: tuple[str, ...], env: dict[str, str], refused: str
) -> None:
    code, output = _invoke("--worker", "--master-port", "9", *args, env=env)
    assert code == 2, output
    assert output.strip() == f"Error: {refused} to the master, not a --worker {WORKER_TAKES}"
    code, output = _invoke("--worker", "--master", env=env)
    assert (code, output.strip()) == (2, "Error: --worker and --master exclude each other")


def test_options_are_read_from_the_environment() -> None:
    env = {"SPENDCAST_LOADTEST_HOST": "http://127.0.0.1:9", "SPENDCAST_LOADTEST_SLO": "p9<1ms;x"}
    code, output = _invoke(env=env)
    assert code == 2
    assert "'x'" in output


@pytest.mark.parametrize(
    ("value", "expressions"),
    [
        ("POST /predict:p99<200ms;errors<1%", ["POST /predict:p99<200ms", "errors<1%"]),
        ("login page:p(95)<200\nrate<0.01\n", ["login page:p(95)<200", "rate<0.01"]),
        (" p95 < 50ms ; ; max<2000 ", ["p95 < 50ms", "max<2000"]),
    ],
)
def test_the_slo_env_var_splits_on_newlines_and_semicolons_never_spaces(
    value: str, expressions: list[str]
) -> None:
    from spendcast.cli.options import SloType

    parsed = [SloType().convert(part, None, None) for part in SloType().split_envvar_value(value)]
    assert [slo.expression for slo in parsed] == expressions


def test_a_bad_slo_in_the_env_var_is_one_line_and_exit_2() -> None:
    env = {"SPENDCAST_LOADTEST_HOST": "http://127.0.0.1:9",
           "SPENDCAST_LOADTEST_SLO": "GET /predict:p(95)<200;rate<5%"}  # fmt: skip
    code, output = _invoke(env=env)
    assert code == 2
    assert "rate is the error rate as a fraction" in output
    assert "Traceback" not in output


def test_unreachable_host_exits_1_before_starting_locust(tmp_path: Path) -> None:
    out = tmp_path / "run"
    code, output = _invoke("--host", f"http://127.0.0.1:{free_port()}", "--out", str(out))
    assert code == 1
    assert "does not answer" in output
    assert not out.exists()


def test_bad_think_time_is_a_usage_error() -> None:
    code, output = _invoke("--host", "http://127.0.0.1:9", "--think-time", "slow")
    assert code == 2
    assert "think time" in output


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--replay", "missing.db"], "replay source 'missing.db': no such file"),
        (["--replay", "notes.txt"], "line 1 is neither an inference log nor an access log line"),
        (["--replay", "other.db"], "not an inference log (no inference_log)"),
        (["--replay", "postgresql+psycopg://postgres:pw@127.0.0.1:1/none"], "cannot read it"),
        (["--replay", "log.db", "--since", "2030-01-01"], "no request to replay in [2030"),
        (["--replay", "log.db", "--speed", "0"], "--speed: invalid speed '0'"),
        (["--replay", "log.db", "--speed", "fast"], "--speed: invalid speed 'fast'"),
        (["--replay", "log.db", "--since", "yesterday"], "--since: invalid time 'yesterday'"),
        (["--replay", "log.db", "--since", "2026-12-07", "--until", "2026-12-06"], "--since must"),
        (["--speed", "2"], "--speed goes with --replay SOURCE"),
        (["--until", "2026-12-06"], "--until goes with --replay SOURCE"),
    ],
)
def test_bad_replay_sources_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, options: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    write_log(f"sqlite:///{tmp_path / 'log.db'}", [1.0])
    (tmp_path / "notes.txt").write_text("not a log\n", encoding="utf-8")
    sqlite3.connect(tmp_path / "other.db").execute("CREATE TABLE t (x)").connection.close()
    code, output = _invoke("--host", "http://127.0.0.1:9", *options)
    assert code == 2, output
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith("Error: ")
    assert message in lines[0]
    assert "pw@" not in lines[0]  # a URL's password is never shown


def test_replay_and_the_load_plan_exclude_each_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_log(f"sqlite:///{tmp_path / 'log.db'}", [1.0])
    for extra in (["--rate", "5"], ["--processes", "2", "--speed", "max"], ["--master"]):
        code, output = _invoke("--host", "http://127.0.0.1:9", "--replay", "log.db", *extra)
        assert code == 2, output
        assert any(why in output for why in ("--replay sends", "--speed max", "--replay reads"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--warmup", "40s", "--max-step-time", "30s"), "fit the warm-up and one window"),
        (("--warmup", "0s"), "at least one second"),
    ],
)
def test_capacity_refuses_a_warm_up_that_leaves_no_window(
    args: tuple[str, ...], message: str
) -> None:
    result = CliRunner().invoke(main, ["capacity", "--host", "http://127.0.0.1:9", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
