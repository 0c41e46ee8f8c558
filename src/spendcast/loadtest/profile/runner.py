"""``profile_load``: a load test while py-spy samples the server, and where the time went.

py-spy (``pip install py-spy``) reads the server's memory from outside, so the server runs
unchanged. It needs the right to trace another process (ptrace): as root, or as the same user
when ``/proc/sys/kernel/yama/ptrace_scope`` is 0; in Docker, ``--cap-add SYS_PTRACE``; on
macOS, ``sudo``. It samples the process and its children (``--subprocesses``: every uvicorn
worker), idle threads left out, functions aggregated by their first line (``--function``).

The run directory holds the load test's files plus ``profile.txt`` (py-spy's collapsed stacks),
``flamegraph.svg``, ``profile.speedscope.json`` (https://www.speedscope.app) and
``profile.json`` (top functions by own and total time, the application's own functions by
total time, own time by package).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from spendcast.errors import ProfileError
from spendcast.loadtest.profile.stacks import (
    FunctionSamples,
    PackageSamples,
    flamegraph_svg,
    is_application,
    parse_collapsed,
    speedscope,
    top_functions,
    top_packages,
)
from spendcast.loadtest.run.config import RunConfig
from spendcast.loadtest.run.result import RunResult
from spendcast.loadtest.run.runner import run_load
from spendcast.loadtest.shared.contract import PROFILE_FILE
from spendcast.loadtest.shared.progress import Progress
from spendcast.loadtest.shared.run_files import default_out_dir

RAW_FILE: Final = "profile.txt"
FLAMEGRAPH_FILE: Final = "flamegraph.svg"
SPEEDSCOPE_FILE: Final = "profile.speedscope.json"
PY_SPY_LOG: Final = "py-spy.log"
PTRACE_HELP: Final = (
    "py-spy needs to trace the server process (ptrace): run as root or as the server's user "
    "with /proc/sys/kernel/yama/ptrace_scope set to 0 (sysctl kernel.yama.ptrace_scope=0); in "
    "Docker add --cap-add SYS_PTRACE to docker run; on macOS run with sudo"
)


@dataclass(frozen=True)
class ProfileResult:
    out_dir: Path
    data: dict[str, Any]
    run: RunResult


def py_spy() -> str:
    """The py-spy executable: on PATH or next to this Python (a virtualenv's ``bin``)."""
    found = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if found is None:
        raise ProfileError("py-spy is not installed: pip install py-spy")
    return found


def profile_load(
    config: RunConfig,
    pid: int,
    *,
    target: str,
    rate: int = 100,
    top: int = 15,
    on_progress: Callable[[Progress], None] | None = None,
) -> ProfileResult:
    """Sample ``pid`` (and its children) with py-spy while ``config``'s load test runs."""
    out_dir = (config.output.out_dir or default_out_dir("profile")).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = out_dir / RAW_FILE
    raw.unlink(missing_ok=True)
    command = [py_spy(), "record", "--pid", str(pid), "--subprocesses", "--function",
               "--format", "raw", "--rate", str(rate), "--output", str(raw)]  # fmt: skip
    with (out_dir / PY_SPY_LOG).open("wb") as log:
        sampler = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)  # fmt: skip
        try:
            time.sleep(1.0)  # py-spy fails at once when it cannot attach
            if sampler.poll() is not None:
                raise ProfileError(_failure(out_dir, sampler.returncode))
            started = time.monotonic()
            run = run_load(replace(config, output=replace(config.output, out_dir=out_dir)),
                           on_progress)  # fmt: skip
            sampled_s = time.monotonic() - started
        finally:
            if sampler.poll() is None:
                sampler.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
                try:
                    sampler.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    sampler.kill()
                    sampler.wait()
    if not raw.exists():
        raise ProfileError(_failure(out_dir, sampler.returncode))
    stacks = parse_collapsed(raw.read_text(encoding="utf-8", errors="replace"))
    if not stacks:
        raise ProfileError(f"py-spy recorded no busy sample of process {pid}: was it loaded?")
    (out_dir / FLAMEGRAPH_FILE).write_text(
        flamegraph_svg(stacks, f"spendcast profile: {target}"), encoding="utf-8"
    )
    (out_dir / SPEEDSCOPE_FILE).write_text(json.dumps(speedscope(stacks, target)), "utf-8")
    data = {
        "schema_version": 1,
        "target": target,
        "pid": pid,
        "rate": rate,
        "duration_s": sampled_s,
        "samples": sum(count for _, count in stacks),
        "top_own": _rows(top_functions(stacks, own=True, limit=top)),
        "top_total": _rows(top_functions(stacks, own=False, limit=top)),
        "top_application": _rows(top_functions(stacks, own=False, limit=top, keep=is_application)),
        "top_packages": _rows(top_packages(stacks)),
        "files": {"raw": RAW_FILE, "flamegraph": FLAMEGRAPH_FILE, "speedscope": SPEEDSCOPE_FILE},
    }
    (out_dir / PROFILE_FILE).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return ProfileResult(out_dir, data, run)


def _rows(rows: Sequence[FunctionSamples | PackageSamples]) -> list[dict[str, str | int | float]]:
    return [row.to_json() for row in rows]


def _failure(out_dir: Path, code: int | None) -> str:
    output = (out_dir / PY_SPY_LOG).read_text(errors="replace").strip()
    denied = ("Permission denied", "Operation not permitted", "ptrace", "EPERM")
    message = f"py-spy failed (exit code {code}): {output.splitlines()[-1] if output else ''}"
    if any(word in output for word in denied):
        return f"{message}\n{PTRACE_HELP}"
    return message
