"""The Locust command line and environment of a run; the files Locust writes in its directory."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Final

from spendcast.loadtest.run.config import RunConfig
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
    plan = config.plan
    settings = config.user_file.settings if config.user_file else {}
    if config.user_shape:  # the file's shape drives the users; --duration ends it if given
        limit = config.time_limit_s
        load = [] if limit is None else [RUN_TIME_OPTION, str(limit)]
    elif plan is None:
        load = [
            "--users", str(config.users),
            "--spawn-rate", f"{config.effective_spawn_rate:g}",
            "--run-time", f"{config.duration_s}s",
        ]  # fmt: skip
    else:  # the plan's shape drives the load
        load = [LOAD_PLAN_OPTION, json.dumps(plan.to_json())]
    # The user classes right after -f (Locust's --tags takes every word that follows it), then
    # the user's options for Locust as typed (the file's own too), then the kit's.
    args = config.user_file.args if config.user_file else ()
    command = [
        sys.executable, "-m", "locust",
        "-f", ",".join(str(path) for path in config.locustfiles()), *config.user_classes, *args,
        "--headless", "--only-summary",
        *(["--host", config.host] if config.pass_host else []),
        *load,
        *([] if "stop_timeout" in settings else ["--stop-timeout", str(STOP_TIMEOUT_S)]),
        # failed requests are results, not a crash (unless the user's configuration says so)
        *([] if "exit_code_on_error" in settings else ["--exit-code-on-error", "0"]),
        "--csv", str(out_dir / CSV_PREFIX),
        "--html", str(out_dir / HTML_REPORT),
        OUT_OPTION, str(out_dir),
    ]  # fmt: skip
    if config.processes is not None:
        command += ["--processes", str(config.processes)]
        if config.master is None:  # Locust's own master and workers: 5557 would collide with
            port = str(free_port())  # any other run with processes on this machine
            command += ["--master-bind-port", port, "--master-port", port]
    if config.master is not None:
        command += config.master.locust_args()
    if config.think_time is not None:  # the master sends it to workers on other machines
        command += [THINK_TIME_OPTION, config.think_time]
    if config.warmup_s:  # the same way
        command += [WARMUP_OPTION, str(config.warmup_s)]
    if config.replay is not None:
        speed = "max" if config.replay_speed is None else repr(config.replay_speed)
        command += [REPLAY_OPTION, str(out_dir / REPLAY_FILE), REPLAY_SPEED_OPTION, speed]
    return [*command, *locust_tags(config.tags, config.exclude_tags)]


def locust_tags(tags: tuple[str, ...], exclude_tags: tuple[str, ...]) -> list[str]:
    return [*(["--tags", *tags] if tags else []),
            *(["--exclude-tags", *exclude_tags] if exclude_tags else [])]  # fmt: skip


def run_environment(config: RunConfig) -> dict[str, str]:
    """The environment Locust runs with: credentials, think time, the user file's path."""
    env = locust_environment(config.extra_env, config.token, config.cookie, config.think_time)
    if config.abort_on_fail:
        percentiles = AbortRule(config.slos).percentiles()
        env[LIVE_SLO_ENV] = ",".join(f"{p:g}" for p in percentiles)
    if config.user_file is not None:
        env["PYTHONPATH"] = config.user_file.python_path(env)
    return env
