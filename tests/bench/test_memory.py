"""bench.memory: VmRSS and mapped native packages of a real process, and the heavy modules a
fresh `import spendcast.api.app` loads (none: serving imports only what it serves with)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bench.cpu import worker_pids
from bench.memory import (
    HEAVY,
    heavy_imports,
    native_packages,
    parse_native_packages,
    parse_vm_rss_kib,
    resident_kib,
)
from tests.support.server import running_server

QUERY: dict[str, str | int] = {"education": "PhD", "age": 42, "income": 50_000}
SITE = "/v/lib/python3.11/site-packages"
MAPS = "\n".join(
    [
        f"7f1c0a000000-7f1c0a200000 r-xp 00000000 fd:01 1 {SITE}/numpy/core/_umath.cpython-311.so",
        f"7f1c0b000000-7f1c0b100000 r--p 00000000 fd:01 2 {SITE}/scipy.libs/libblas.3.21.so",
        f"7f1c0b000000-7f1c0b100000 r--p 00000000 fd:01 2 {SITE}/scipy/linalg/_fblas.so",
        f"7f1c0b000000-7f1c0b100000 r--p 00000000 fd:01 2 {SITE}/scikit_learn.libs/libgomp.so.1",
        f"7f1c0c000000-7f1c0c100000 r--p 00000000 fd:01 3 {SITE}/pandas/io/sql.py",  # not code
        "7f1c0d000000-7f1c0d100000 r-xp 00000000 fd:01 4 /usr/lib/x86_64-linux-gnu/libc.so.6",
        "7f1c0e000000-7f1c0e100000 rw-p 00000000 00:00 0",
    ]
)


def test_parse_status_and_maps() -> None:
    assert parse_vm_rss_kib("Name:\tpython\nVmRSS:\t  164900 kB\nThreads:\t3\n") == 164900
    assert parse_vm_rss_kib("Name:\tzombie\n") == 0
    assert parse_native_packages(MAPS) == ["numpy", "scipy"]


def test_a_live_process_that_imported_numpy() -> None:
    code = "import numpy, sys; print('ready', flush=True); sys.stdin.read()"
    with subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready"
            assert "numpy" in native_packages(process.pid)
            assert resident_kib(process.pid) > 1024
        finally:
            assert process.stdin is not None
            process.stdin.close()
            process.wait(timeout=30)


def test_the_app_module_imports_nothing_heavy() -> None:
    # the detector does see heavy modules where they are: the kit's histogram module
    assert {"numpy", "hdrh"} <= set(heavy_imports("spendcast.loadtest.shared.latency"))
    assert heavy_imports("spendcast.api.app") == []
    assert "locust" in HEAVY


@pytest.mark.parametrize("workers", [1, 2])
def test_a_serving_worker_maps_no_model_library(workdir: Path, workers: int) -> None:
    # The model is read in a throwaway process: the worker keeps only the compiled predictor.
    with running_server(workdir, workers=workers) as server:
        assert httpx.get(f"{server.url}/predict", params=QUERY).status_code == 200
        # /ready answers once one worker is up; another may still have its loader child.
        deadline = time.monotonic() + 60
        while len(pids := worker_pids(server.process.pid)) != workers:
            assert time.monotonic() < deadline, pids
            time.sleep(0.1)
        for pid in pids:
            mapped = set(native_packages(pid))
            assert {"uvloop", "httptools"} <= mapped  # the detector sees the server's own
            unused = {"numpy", "scipy", "pandas", "sklearn", "websockets", "watchfiles"}
            assert not mapped & unused, mapped
