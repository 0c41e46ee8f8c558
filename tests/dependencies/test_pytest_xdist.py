"""pytest-xdist's ``xdist_group`` (the groups tests/conftest.py gives; pytest bounded <9.2 in
pyproject.toml): xdist 3.8 writes the group into ``item._nodeid``, which pytest 9.2 stopped
reading, and every group is then silently ignored."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

GROUPED = """
import pytest

@pytest.mark.xdist_group("one")
@pytest.mark.parametrize("n", range(6))
def test_grouped(n):
    pass
"""


def test_a_groups_tests_all_run_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-v",
         "-p", "no:cacheprovider", "-c", "/dev/null", "--rootdir", str(tmp_path), str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    workers = {line.split()[0] for line in done.stdout.splitlines() if "PASSED" in line}
    assert len([line for line in done.stdout.splitlines() if "PASSED" in line]) == 6
    assert len(workers) == 1, workers
