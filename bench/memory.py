"""A serving worker's memory seen from outside, and what importing the app pulls in.

- ``resident_kib(pid)``: ``VmRSS`` of ``/proc/<pid>/status`` (pages resident now);
- ``native_packages(pid)``: the installed packages whose compiled code the process has
  mapped (``/proc/<pid>/maps``): a package that is imported and has C extensions shows up
  there (numpy, scipy, pandas, gevent, ...), without asking the server anything;
- ``heavy_imports(module)``: which of ``HEAVY`` a fresh interpreter holds in ``sys.modules``
  after importing ``module`` and nothing else.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Final

PROC = Path("/proc")
# Packages a prediction server has no use for at request time (or at all).
HEAVY: Final = (
    "matplotlib", "locust", "gevent", "greenlet", "zmq", "scipy", "pandas", "hdrh",
    "sklearn", "skops", "joblib", "numpy", "rich",
)  # fmt: skip
_MAPPED = re.compile(r"/site-packages/([^/\s]+)/\S+\.so(?:\.[\w.]+)?$")


def parse_vm_rss_kib(status: str) -> int:
    """``VmRSS`` in KiB from the text of ``/proc/<pid>/status`` (0 when absent: a zombie)."""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def resident_kib(pid: int) -> int:
    return parse_vm_rss_kib((PROC / str(pid) / "status").read_text())


def parse_native_packages(maps: str) -> list[str]:
    """Top-level packages under a ``site-packages`` whose shared objects are mapped (a
    wheel's bundled libraries, ``numpy.libs``, are left out: its package's own show up)."""
    names: set[str] = set()
    for line in maps.splitlines():
        match = _MAPPED.search(line)
        if match and not match.group(1).endswith(".libs"):
            names.add(match.group(1))
    return sorted(names)


def native_packages(pid: int) -> list[str]:
    return parse_native_packages((PROC / str(pid) / "maps").read_text())


def heavy_imports(module: str) -> list[str]:
    """The ``HEAVY`` packages a fresh interpreter has loaded once it has imported ``module``."""
    code = (
        "import importlib, json, sys; importlib.import_module(sys.argv[1]); "
        "print(json.dumps(sorted({name.partition('.')[0] for name in sys.modules})))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code, module], capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(completed.stdout.strip().splitlines()[-1]))
    return [name for name in HEAVY if name in loaded]


def worker_memory(pid: int) -> dict[str, Any]:
    """One worker as the benchmark's memory table holds it: resident now, native packages."""
    return {
        "pid": pid,
        "rss_kib_after_warmup": resident_kib(pid),
        "native_packages": native_packages(pid),
    }


MEMORY_HEADER = ["server", "worker RSS MiB, warm", "after the runs", "native packages mapped"]


def memory_rows(memory: dict[str, list[dict[str, Any]]]) -> list[list[str]]:
    def mib(kib: int) -> str:
        return f"{kib / 1024:.0f}"

    rows = []
    for name, workers in memory.items():
        rows.append([
            name,
            " ".join(mib(w["rss_kib_after_warmup"]) for w in workers),
            " ".join(mib(w.get("rss_kib_after_runs", 0)) for w in workers),
            ", ".join(sorted({p for w in workers for p in w["native_packages"]})) or "-",
        ])  # fmt: skip
    return rows
