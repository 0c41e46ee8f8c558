"""Run one locustfile under plain ``locust --headless`` and under ``spendcast loadtest -f``.

Both sides run in the locustfile's folder, as a user runs them, with the arguments each one
is given (plain Locust's ``-u/-r/-t``, the kit's ``--users/--spawn-rate/--duration``, and the
words for the file itself that both take the same way), and come back as a ``Side``: exit
code, requests per ``(type, name)`` (Locust's ``--json-file``, written when it quits, the
kit's ``summary.json``), the process's wall time (the kit's test time is its ``duration_s``),
and the output. ``at_once`` runs the sides side by side: each waits on its server and its
clock most of the time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

Names = dict[tuple[str, str], int]
_RUNS = count()  # each side's own files, also when sides run at once


@dataclass(frozen=True)
class Side:
    code: int
    requests: Names  # (request type, name) -> requests
    output: str
    wall_s: float  # the whole process, start to exit
    summary: dict[str, Any] = field(default_factory=dict)  # the kit's summary.json

    @property
    def names(self) -> set[tuple[str, str]]:
        return set(self.requests)


def _environment() -> dict[str, str]:
    """As a user's shell has it: no variable of spendcast's, none of Locust's."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("SPENDCAST_", "LOCUST_"))}


def _run(command: list[str], cwd: Path, timeout: float) -> tuple[int, str, float]:
    started = time.monotonic()
    done = subprocess.run(command, cwd=cwd, env=_environment(), capture_output=True, text=True,
                          timeout=timeout, check=False, stdin=subprocess.DEVNULL)  # fmt: skip
    return done.returncode, done.stdout + done.stderr, time.monotonic() - started


def plain(locustfile: Path, *args: str, timeout: float = 120) -> Side:
    """``locust -f FILE --headless --only-summary --json-file ... ARGS`` in the file's folder."""
    prefix = locustfile.parent / f"plain-{next(_RUNS)}"
    command = [sys.executable, "-m", "locust", "-f", locustfile.name, "--headless",
               "--only-summary", "--json-file", str(prefix), *args]  # fmt: skip
    code, output, wall = _run(command, locustfile.parent, timeout)
    stats = Path(f"{prefix}.json")
    entries = json.loads(stats.read_text()) if stats.exists() else []
    requests = {(e["method"], e["name"]): int(e["num_requests"]) for e in entries
                if e["num_requests"]}  # fmt: skip
    return Side(code, requests, output, wall)


def kit(locustfile: Path, *args: str, quiet: bool = True, timeout: float = 120) -> Side:
    """``spendcast loadtest -f FILE --out ... ARGS`` in the file's folder."""
    out = locustfile.parent / f"run-{next(_RUNS)}"
    command = [sys.executable, "-m", "spendcast", "loadtest", "-f", locustfile.name,
               "--out", str(out), *(["--quiet"] if quiet else []), *args]  # fmt: skip
    code, output, wall = _run(command, locustfile.parent, timeout)
    summary: dict[str, Any] = {}
    if (out / "summary.json").exists():
        summary = json.loads((out / "summary.json").read_text())
    requests = {(e["method"], e["name"]): int(e["requests"]) for e in summary.get("endpoints", [])}
    return Side(code, requests, output, wall, summary)


def write(folder: Path, name: str, text: str, **values: Any) -> Path:
    """Write ``text`` (formatted with ``values``) as ``folder/name``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text.format(**values) if values else text, encoding="utf-8")
    return path


def at_once(*runs: Callable[[], Side]) -> list[Side]:
    """Each of ``runs`` (``plain``/``kit`` calls, in their own run files) at the same time."""
    with ThreadPoolExecutor(len(runs)) as pool:
        return [future.result() for future in [pool.submit(run) for run in runs]]
