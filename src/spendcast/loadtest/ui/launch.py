"""Start Locust's web UI with the kit loaded: ``spendcast ui``'s process, until Ctrl-C.

``python -m locust`` (a subprocess, as every run: gevent stays out of this process) gets
``-f USERS,RECORDING,UI`` and the user classes, the page's defaults (host, users, spawn
rate, ``--spendcast-rate``), Locust's ``--processes`` or ``--master`` flags, and the session
(``UiSession``: where the runs go, the SLOs) in its environment. Locust writes its log to the
terminal; in its own session, so Ctrl-C reaches only this process, which asks Locust to stop
(SIGTERM: a running test is stopped and saved) and waits for it.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Final

from spendcast.errors import LoadTestError
from spendcast.loadtest.run.config import RunConfig
from spendcast.loadtest.run.distributed import MasterOptions
from spendcast.loadtest.run.load import ClosedLoad
from spendcast.loadtest.run.locust_command import STOP_TIMEOUT_S, locust_tags, run_environment
from spendcast.loadtest.run.server_process import free_port
from spendcast.loadtest.shared.contract import (
    RATE_OPTION,
    RECORDING_LOCUSTFILE,
    SCENARIOS_LOCUSTFILE,
    UI_LOCUSTFILE,
    UI_SESSION_ENV,
    WARMUP_OPTION,
)
from spendcast.loadtest.shared.ui_session import UiSession

QUIT_WAIT_S: Final = STOP_TIMEOUT_S + 90  # stop the users, hand over, save the run


def check_port(host: str, port: int) -> None:
    """``LoadTestError`` (one line) unless the web UI can listen on ``host:port``."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise LoadTestError(f"--web-port {port} on {host}: {error.strerror}") from None


def ui_command(
    config: RunConfig,
    form: ClosedLoad,
    web_host: str,
    web_port: int,
    rate: float | None,
    warmup_s: int = 0,
) -> list[str]:
    """``form``: the page's users and spawn rate (a file's load shape, if any, drives them)."""
    users, generators = config.users, config.generators
    files = list(users.file.files) if users.file else [SCENARIOS_LOCUSTFILE]
    command = [
        sys.executable, "-m", "locust",
        "-f", ",".join(str(p) for p in [*files, RECORDING_LOCUSTFILE, UI_LOCUSTFILE]),
        *config.user_classes,
        "--web-host", web_host,
        "--web-port", str(web_port),
        "--users", str(form.users),
        "--spawn-rate", f"{form.effective_spawn_rate:g}",
        "--stop-timeout", str(STOP_TIMEOUT_S),
        "--exit-code-on-error", "0",
    ]  # fmt: skip
    if config.target.host:
        command += ["--host", config.target.host]
    if rate is not None:
        command += [RATE_OPTION, f"{rate:g}"]
    if warmup_s:  # each test's first seconds, left out of its figures
        command += [WARMUP_OPTION, str(warmup_s)]
    if isinstance(generators, MasterOptions):
        command += generators.locust_args()
    elif generators.count is not None:
        port = str(free_port())  # Locust's own master and its forks, on a port of their own
        command += ["--processes", str(generators.count),
                    "--master-bind-port", port, "--master-port", port]  # fmt: skip
    return [*command, *locust_tags(users.tags, users.exclude_tags)]


def run_ui(
    config: RunConfig,
    form: ClosedLoad,
    runs_dir: Path,
    web_host: str,
    web_port: int,
    rate: float | None,
    warmup_s: int = 0,
) -> int:
    """Serve the page until Ctrl-C (or Locust ends); Locust's exit code."""
    check_port(web_host, web_port)
    runs_dir = runs_dir.resolve()
    runs_dir.mkdir(parents=True, exist_ok=True)
    slos = tuple(slo.expression for slo in config.gates.slos)
    session = UiSession(str(runs_dir), config.users.stem, config.public(), slos)
    env = {**run_environment(config), UI_SESSION_ENV: session.to_json()}
    # cwd: the runs' folder, so no locust.conf or pyproject.toml around changes the session.
    process = subprocess.Popen(
        ui_command(config, form, web_host, web_port, rate, warmup_s),
        cwd=runs_dir,
        env=env,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    previous = signal.signal(signal.SIGTERM, _interrupt)  # a SIGTERM ends it as Ctrl-C does
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=QUIT_WAIT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
