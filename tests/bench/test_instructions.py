"""bench/instructions.py: reading a callgrind dump, and a real count of the bare hello."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.instructions import summary_instructions
from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parents[2]


def test_the_summary_line_gives_the_instructions() -> None:
    dump = "version: 1\ncreator: callgrind-3.19.0\nevents: Ir\nsummary: 269002746\ntotals: 2\n"
    assert summary_instructions(dump) == 269002746
    with pytest.raises(ValueError, match="summary"):
        summary_instructions("events: Ir\ntotals: 12\n")


def test_a_real_count_of_the_bare_hello() -> None:
    """The whole command against the hello under valgrind: two counts of the same requests
    agree closely (the figure does not depend on the machine's load), and are positive."""
    require_tool("valgrind")
    counts = []
    for _ in range(2):
        completed = subprocess.run(
            [sys.executable, "-m", "bench", "instructions", "--only", "hello", "--requests", "200",
             "--warmup", "50"],
            cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        assert completed.returncode == 0, completed.stderr[-3000:]
        found = re.search(r"^bare hello\s+([\d,]+)\s+1\.00$", completed.stdout, re.MULTILINE)
        assert found is not None, completed.stdout
        counts.append(int(found[1].replace(",", "")))
    assert min(counts) > 10_000
    assert max(counts) / min(counts) < 1.1, counts
