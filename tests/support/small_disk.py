"""A small file system of its own (a tmpfs) that a test fills to make every write fail.

Mounting needs root: without it the fixture skips with the reason, and fails when CI=true. The
file system is always unmounted after the test. ``fill()`` takes every free byte with one
filler file (``ENOSPC`` from then on, for files that need a new page); ``free()`` deletes it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import IN_CI

SIZE = "8m"
CHUNK = 1 << 16


@dataclass
class SmallDisk:
    mountpoint: Path

    @property
    def journal_dir(self) -> Path:
        return self.mountpoint / "journal"

    @property
    def _filler(self) -> Path:
        return self.mountpoint / "filler"

    def fill(self) -> int:
        """Take every free byte; returns how many were taken."""
        taken = 0
        fd = os.open(self._filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            for size in (CHUNK, 1):
                with contextlib.suppress(OSError):
                    while True:
                        taken += os.write(fd, b"\0" * size)
        finally:
            os.close(fd)
        assert self.free_bytes() == 0
        return taken

    def free(self) -> None:
        self._filler.unlink(missing_ok=True)

    def free_bytes(self) -> int:
        stats = os.statvfs(self.mountpoint)
        return stats.f_bavail * stats.f_frsize


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """An 8 MiB tmpfs mounted for this test; ``journal_dir`` is a directory inside it."""
    if os.geteuid() != 0:
        _skip_or_fail("mounting a tmpfs for the journal needs root")
    mountpoint = tmp_path / "small-disk"
    mountpoint.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0755", "tmpfs", str(mountpoint)]
    result = subprocess.run(mount, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        _skip_or_fail(f"cannot mount a tmpfs: {result.stderr.strip()}")
    try:
        yield SmallDisk(mountpoint)
    finally:
        if subprocess.run(["umount", str(mountpoint)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(mountpoint)], check=True)


def _skip_or_fail(message: str) -> None:
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)
