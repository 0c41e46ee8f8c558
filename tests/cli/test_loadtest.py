"""``spendcast loadtest`` options: usage errors exit 2, an unreachable host exits 1."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from spendcast.cli import main
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


def test_options_are_read_from_the_environment() -> None:
    env = {"SPENDCAST_LOADTEST_HOST": "http://127.0.0.1:9", "SPENDCAST_LOADTEST_SLO": "p9<1ms x"}
    code, output = _invoke(env=env)
    assert code == 2
    assert "'x'" in output


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
