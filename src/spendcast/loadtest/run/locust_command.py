"""The Locust command line and environment of a run; the files Locust writes in its directory."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Final

from spendcast.loadtest.run.config import RunConfig
from spendcast.loadtest.run.distributed import MasterOptions
from spendcast.loadtest.run.load import FileShapeLoad, ReplayLoad
from spendcast.loadtest.run.server_process import free_port
from spendcast.loadtest.shared.abort import AbortRule
from spendcast.loadtest.shared.contract import (
    CSV_PREFIX,
    HTML_REPORT,
    LIVE_SLO_ENV,
    LOAD_PLAN_OPTION,
    OUT_OPTION,
    REPLAY_FILE,
    REPLAY_OPTION,
    REPLAY_SPEED_OPTION,
    RUN_TIME_OPTION,
    THINK_TIME_OPTION,
    WARMUP_OPTION,
)
from spendcast.loadtest.shared.credentials import locust_environment

STOP_TIMEOUT_S: Final = 10  # users finish their request in flight: every answer is counted


def locust_command(config: RunConfig, out_dir: Path) -> list[str]:
    users, generators = config.users, config.generators
    settings = users.file.settings if users.file else {}
    # The user classes right after -f (Locust's --tags takes every word that follows it), then
    # the user's options for Locust as typed (the file's own too), then the kit's.
    args = users.file.args if users.file else ()
    command = [
        sys.executable, "-m", "locust",
        "-f", ",".join(str(path) for path in config.locustfiles()), *config.user_classes, *args,
        "--headless", "--only-summary",
        *(["--host", config.target.host] if config.target.pass_host else []),
        *load_args(config),
        *([] if "stop_timeout" in settings else ["--stop-timeout", str(STOP_TIMEOUT_S)]),
        # failed requests are results, not a crash (unless the user's configuration says so)
        *([] if "exit_code_on_error" in settings else ["--exit-code-on-error", "0"]),
        "--csv", str(out_dir / CSV_PREFIX),
        "--html", str(out_dir / HTML_REPORT),
        OUT_OPTION, str(out_dir),
    ]  # fmt: skip
    if isinstance(generators, MasterOptions):
        command += generators.locust_args()
    elif generators.count is not None:
        # Locust's own master and workers: 5557 would collide with any other run with
        # processes on this machine
        port = str(free_port())
        command += ["--processes", str(generators.count), "--master-bind-port", port,
                    "--master-port", port]  # fmt: skip
    if users.think_time is not None:  # the master sends it to workers on other machines
        command += [THINK_TIME_OPTION, users.think_time]
    if config.window.warmup_s:  # the same way
        command += [WARMUP_OPTION, str(config.window.warmup_s)]
    if isinstance(config.load, ReplayLoad):
        speed = "max" if config.load.speed is None else repr(config.load.speed)
        command += [REPLAY_OPTION, str(out_dir / REPLAY_FILE), REPLAY_SPEED_OPTION, speed]
    return [*command, *locust_tags(users.tags, users.exclude_tags)]


def load_args(config: RunConfig) -> list[str]:
    """The load's options: the file's shape drives the users (--duration ends it if given),
    the plan's shape drives the load, or Locust's own users for a time."""
    plan, closed, limit = config.plan, config.closed_load, config.time_limit_s
    if isinstance(config.load, FileShapeLoad):
        return [] if limit is None else [RUN_TIME_OPTION, str(limit)]
    if plan is not None:
        return [LOAD_PLAN_OPTION, json.dumps(plan.to_json())]
    assert closed is not None
    return [
        "--users", str(closed.users),
        "--spawn-rate", f"{closed.effective_spawn_rate:g}",
        "--run-time", f"{closed.duration_s}s",
    ]  # fmt: skip


def locust_tags(tags: tuple[str, ...], exclude_tags: tuple[str, ...]) -> list[str]:
    return [*(["--tags", *tags] if tags else []),
            *(["--exclude-tags", *exclude_tags] if exclude_tags else [])]  # fmt: skip


def run_environment(config: RunConfig) -> dict[str, str]:
    """The environment Locust runs with: credentials, think time, the user file's path."""
    target, users = config.target, config.users
    env = locust_environment(config.environment, target.token, target.cookie, users.think_time)
    if config.gates.abort_on_fail:
        percentiles = AbortRule(config.gates.slos).percentiles()
        env[LIVE_SLO_ENV] = ",".join(f"{p:g}" for p in percentiles)
    if users.file is not None:
        env["PYTHONPATH"] = users.file.python_path(env)
    return env
