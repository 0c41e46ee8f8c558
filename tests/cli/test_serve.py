"""``spendcast serve`` refuses a token variable it cannot use, in one line, before anything
starts (exit 2): an empty one (not a silent "no auth"), one naming the bad character."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _serve(workdir: Path, token: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SPENDCAST_API_TOKEN": token}
    command = [sys.executable, "-m", "spendcast", "serve", "--port", "0"]
    return subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True, timeout=120
    )


def test_an_empty_token_is_refused_not_taken_for_no_auth(workdir: Path) -> None:
    result = _serve(workdir, "")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert result.stderr.startswith("Error: SPENDCAST_API_TOKEN: the token is empty")


@pytest.mark.parametrize(
    ("token", "named"),
    [
        ("semi;colon", "the character ; (U+003B)"),
        ("tab\there", "a control character (U+0009)"),
        ("t\u00e9st", "a non-ASCII character (U+00E9)"),
        ("two words", "a space"),
    ],
)
def test_a_bad_token_is_refused_naming_the_character_not_its_place(
    workdir: Path, token: str, named: str
) -> None:
    result = _serve(workdir, token)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"Error: SPENDCAST_API_TOKEN: the token holds {named}: it must be printable ASCII "
        'without spaces or any of " , ; \\ to be sent in a Cookie or Authorization header'
    )
