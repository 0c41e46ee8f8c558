"""The two load generators the generator benchmark compares, and the loads both must run.

``plain``: ``python -m locust`` headless with ``bench/locustfiles/health_user.py``, a one-line
``FastHttpUser``. ``spendcast``: ``spendcast loadtest`` with its exact HDR recording, live
progress file and run directory, running the same request (``SPENDCAST_USER``). Each ``Case``
is one load both run: Locust processes, and an open-model rate when ``spendcast loadtest``
has ``--rate`` (plain Locust then paces each user at ``rate / users``).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bench.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE: Final = ROOT / "bench" / "locustfiles" / "health_user.py"
USER_RATE_ENV: Final = "BENCH_USER_RATE"  # read by health_user.py's PacedHealthUser
SPENDCAST: Final = (sys.executable, "-m", "spendcast", "loadtest")
SPENDCAST_USER: Final = ("-f", str(LOCUSTFILE), "HealthUser")  # the very user plain Locust runs
# Every Locust process of either generator has this in its command line (forks included).
LOCUST_MARKER: Final = "-m locust"
GENERATORS: Final = ("plain", "spendcast")


@dataclass(frozen=True)
class Case:
    """One load: Locust ``processes`` (``None``: one process), open-model ``rate`` or closed."""

    name: str
    processes: int | None = None
    rate: float | None = None

    def spendcast_options(self) -> tuple[str, ...]:
        """The ``spendcast loadtest`` options this case needs beyond the common ones."""
        return ("--rate",) if self.rate is not None else ()


@dataclass(frozen=True)
class Load:
    """What every run of one benchmark shares."""

    host: str
    users: int
    run_time_s: int


def cases(rate: float) -> tuple[Case, ...]:
    return (
        Case("1 process"),
        Case("2 processes", processes=2),
        Case(f"rate {rate:g}/s", rate=rate),
    )


def _master_port_env(case: Case) -> dict[str, str]:
    """With ``--processes``, Locust's master binds 5557 unless told otherwise, and any other
    Locust with processes on the machine would collide with it: a free port, for both."""
    if case.processes is None:
        return {}
    port = str(free_port())
    return {"LOCUST_MASTER_BIND_PORT": port, "LOCUST_MASTER_NODE_PORT": port}


def plain_command(case: Case, load: Load) -> tuple[list[str], dict[str, str]]:
    """Plain Locust, headless, summary only: the command and its extra environment."""
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
        "--host", load.host, "--users", str(load.users), "--spawn-rate", str(load.users),
        "--run-time", f"{load.run_time_s}s",
    ]  # fmt: skip
    if case.processes is not None:
        command += ["--processes", str(case.processes)]
    env = _master_port_env(case)
    if case.rate is not None:
        env[USER_RATE_ENV] = f"{case.rate / load.users:g}"
        return [*command, "PacedHealthUser"], env
    return [*command, "HealthUser"], env


def spendcast_command(case: Case, load: Load, out_dir: Path) -> tuple[list[str], dict[str, str]]:
    """``spendcast loadtest`` with the same users, writing its run directory to ``out_dir``."""
    command = [
        *SPENDCAST, *SPENDCAST_USER, "--host", load.host,
        "--duration", f"{load.run_time_s}s", "--out", str(out_dir),
    ]  # fmt: skip
    if case.processes is not None:
        command += ["--processes", str(case.processes)]
    if case.rate is not None:  # the pool is sized from the rate, up to as many users as plain's
        command += ["--rate", f"{case.rate:g}", "--max-users", str(load.users)]
    else:
        command += ["--users", str(load.users)]
    return command, _master_port_env(case)


def generator_command(
    generator: str, case: Case, load: Load, run_dir: Path
) -> tuple[list[str], dict[str, str]]:
    """``plain_command`` or ``spendcast_command`` (its run directory ``run_dir``)."""
    if generator == "plain":
        return plain_command(case, load)
    return spendcast_command(case, load, run_dir)


@contextmanager
def generator_process(
    command: list[str], env: dict[str, str], *, cpus: str | None, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """One generator running (on ``cpus`` with taskset, output to ``log``, in ``log``'s folder)
    for the block; then its whole session killed: forked Locust workers outlive a master that
    died."""
    if cpus:
        command = ["taskset", "-c", cpus, *command]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, cwd=log.parent, start_new_session=True,
        )  # fmt: skip
    try:
        yield process
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def has_option(help_text: str, option: str) -> bool:
    """Whether click's ``--help`` output lists ``option`` where options start a line (``  -r,
    --rate FLOAT``), not merely inside another option's help."""
    pattern = rf"^ {{2}}(-\w, )?{re.escape(option)}(\s|$)"
    return re.search(pattern, help_text, re.MULTILINE) is not None


def spendcast_help() -> str:
    completed = subprocess.run(
        [*SPENDCAST, "--help"], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return completed.stdout


def unsupported(case: Case, help_text: str) -> str | None:
    """Why ``case`` cannot run with this ``spendcast loadtest`` (``None``: it can)."""
    missing = [option for option in case.spendcast_options() if not has_option(help_text, option)]
    if not missing:
        return None
    return f"skipped {case.name!r}: `spendcast loadtest` has no {', '.join(missing)} option yet"
