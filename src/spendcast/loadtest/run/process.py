"""Locust as a subprocess: run it to its end (or an abort), following ``progress.jsonl``."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from spendcast.errors import LoadTestError
from spendcast.loadtest.run.config import RunConfig
from spendcast.loadtest.run.distributed import MasterOptions
from spendcast.loadtest.run.locust_command import (
    STOP_TIMEOUT_S,
    locust_command,
    run_environment,
)
from spendcast.loadtest.shared.abort import Abort, AbortRule, live_observations
from spendcast.loadtest.shared.contract import LOCUST_LOG, PROGRESS_FILE, STOP_FILE
from spendcast.loadtest.shared.progress import Progress


def run_locust(
    config: RunConfig, out_dir: Path, on_progress: Callable[[Progress], None] | None
) -> tuple[int, Abort | None]:
    """Run Locust to its end (or until an SLO aborts it: SIGTERM, Locust still writes every
    file), feeding ``on_progress``; returns its exit code and the abort if any."""
    gates = config.gates
    rule = AbortRule(gates.slos, gates.abort_grace_s) if gates.abort_on_fail else None
    aborts: list[Abort] = []

    def sample(progress: Progress) -> None:
        if on_progress is not None:
            on_progress(progress)
        if rule is not None and not progress.final and not aborts:
            measured = live_observations(progress)
            if (abort := rule.check(progress.elapsed, measured)) is not None:
                aborts.append(abort)

    progress_path = out_dir / PROGRESS_FILE
    progress_path.unlink(missing_ok=True)
    (out_dir / STOP_FILE).unlink(missing_ok=True)
    master = config.generators if isinstance(config.generators, MasterOptions) else None
    waiting = master.workers_wait_s if master is not None else 0
    limit = config.time_limit_s
    allowed_s = math.inf if limit is None else waiting + limit + STOP_TIMEOUT_S + 120
    deadline = time.monotonic() + allowed_s
    with (out_dir / LOCUST_LOG).open("wb") as log:
        # cwd: a user's file runs where the user is, as under plain locust (its data files,
        # locust.conf, pyproject.toml); the kit's scenarios in the run directory, unaffected.
        process = subprocess.Popen(
            locust_command(config, out_dir),
            cwd=out_dir if config.users.file is None else config.users.file.cwd,
            env=run_environment(config),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        offset = 0
        stopping: float | None = None  # when the abort asked Locust to stop
        try:
            while process.poll() is None:
                if time.monotonic() > deadline:
                    process.kill()
                    process.wait()
                    raise LoadTestError(
                        f"Locust did not finish within {allowed_s:g}s (the {limit}s "
                        f"run, {waiting}s for workers, {STOP_TIMEOUT_S + 120}s to stop)"
                    )
                offset = _follow(progress_path, offset, sample)
                if aborts and stopping is None:  # the Locust side ends the run (hooks.py)
                    (out_dir / STOP_FILE).touch()
                    stopping = time.monotonic()
                elif stopping is not None and time.monotonic() - stopping > STOP_TIMEOUT_S + 15:
                    process.send_signal(signal.SIGTERM)  # a locustfile without our hooks
                    stopping = math.inf
                time.sleep(0.25)
        except BaseException:
            if process.poll() is None:  # Ctrl-C or an error: let Locust write what it has
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=STOP_TIMEOUT_S + 30)
            raise
        _follow(progress_path, offset, sample)
    (out_dir / STOP_FILE).unlink(missing_ok=True)
    return process.returncode, (aborts[0] if aborts else None)


def _follow(path: Path, offset: int, on_progress: Callable[[Progress], None] | None) -> int:
    """Hand every complete new line of the progress file to ``on_progress``; the new offset."""
    if on_progress is None or not path.exists():
        return offset
    with path.open("rb") as file:
        file.seek(offset)
        chunk = file.read()
    end = chunk.rfind(b"\n") + 1
    for line in chunk[:end].splitlines():
        data = json.loads(line)
        on_progress(Progress.from_json(data))
    return offset + end


def last_log_line(out_dir: Path) -> str:
    path = out_dir / LOCUST_LOG
    lines = path.read_text(errors="replace").strip().splitlines() if path.exists() else []
    errors = [line for line in lines if "Error" in line or "error" in line]
    return (errors or lines or ["no output"])[-1].strip()
