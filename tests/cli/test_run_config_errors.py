"""A refused run configuration said in the command's flags: one line, exit 2."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner

from spendcast.cli import main
from spendcast.cli.run_config_errors import FLAG_WORDS, in_flags
from spendcast.errors import RunConfigError
from spendcast.loadtest.run.config_rules import Rule
from tests.loadtest.run.test_config import REFUSED


def test_every_rule_has_its_flag_words() -> None:
    assert set(FLAG_WORDS) == set(Rule)


@pytest.mark.parametrize(("build", "rule", "message"), REFUSED, ids=[r.name for _, r, _ in REFUSED])
def test_each_refusal_reads_in_flags(build: Callable[[], object], rule: Rule, message: str) -> None:
    with pytest.raises(RunConfigError) as raised:
        build()
    said = in_flags(raised.value)
    assert said == FLAG_WORDS[rule].format(**raised.value.values)
    assert "{" not in said


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--master", "--processes", "2"], "--master runs no user: --processes belongs to the "
         "workers"),
        (["--rate", "50", "--processes", "4", "--max-users", "2"], "--max-users 2 leaves a "
         "process without user: 4 processes generate the load"),
        (["--rate", "5", "--think-time", "0.1"], "--think-time is the closed model's pause: the "
         "timetable sets when each iteration starts"),
        (["--duration", "5s", "--warmup", "5s"], "--warmup 5s leaves nothing to measure in a 5s "
         "run"),
    ],
)  # fmt: skip
def test_the_loadtest_command_refuses_in_flags_with_exit_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["loadtest", "--host", "http://127.0.0.1:9", *args])
    assert result.exit_code == 2, result.output
    assert f"Error: {message}" in result.output
    assert "Traceback" not in result.output
