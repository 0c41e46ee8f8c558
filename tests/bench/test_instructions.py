"""bench/instructions.py: reading a callgrind dump, and a real count of the bare hello."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.instructions import summary_instructions
from bench.results import read
from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parents[2]


def test_the_summary_line_gives_the_instructions() -> None:
    dump = "version: 1\ncreator: callgrind-3.19.0\nevents: Ir\nsummary: 269002746\ntotals: 2\n"
    assert summary_instructions(dump) == 269002746
    with pytest.raises(ValueError, match="summary"):
        summary_instructions("events: Ir\ntotals: 12\n")


def test_a_real_count_of_the_bare_hello(tmp_path: Path) -> None:
    """The whole command against the hello under valgrind, two rounds: the two counts of the
    same requests agree closely (the figure does not depend on the machine's load), are
    positive, and land in results.json."""
    require_tool("valgrind")
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "instructions", "--quick", "--only", "hello",
         "--rounds", "2", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    found = re.search(r"^bare hello\s+([\d,]+)\s+1\.00$", completed.stdout, re.MULTILINE)
    assert found is not None, completed.stdout
    counts = read(tmp_path).figures["bare hello: instructions/request"]
    assert len(counts) == 2
    assert min(counts) > 10_000
    assert max(counts) / min(counts) < 1.1, counts
