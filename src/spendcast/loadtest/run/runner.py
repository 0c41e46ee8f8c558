"""The run primitive: one headless Locust run against a host, as one directory of results.

``run_load(config)`` checks that the host answers, runs ``python -m locust`` as a subprocess
(gevent's monkey-patching stays out of this process; ``--processes`` works) with
``-f USERS[,SHAPE],RECORDING``: the users' locustfile (the kit's scenarios, or the user's own
checked by ``locustfile.inspect_locustfile``) and the user classes to run, capacity's load shape
if any, and the recording hooks, which measure any user. It follows the progress, then reads
the exact latencies back, checks the SLOs and writes ``summary.json`` and the plots.
``capacity``, ``compare`` and ``profile`` are built on it. It never imports Locust itself.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from spendcast.errors import LoadTestError
from spendcast.loadtest.contract import (
    COOKIE_ENV,
    OUT_OPTION,
    PROGRESS_FILE,
    RECORDING_FILE,
    RECORDING_LOCUSTFILE,
    SCENARIO_USERS,
    SCENARIOS_LOCUSTFILE,
    SUMMARY_FILE,
    THINK_TIME_ENV,
    THINK_TIME_OPTION,
    TOKEN_ENV,
)
from spendcast.loadtest.run.credentials import base_url, public_host
from spendcast.loadtest.run.distributed import MasterOptions
from spendcast.loadtest.run.duration import parse_think_time
from spendcast.loadtest.run.latency import LatencyHistogram, LatencyStats
from spendcast.loadtest.run.locustfile import UserLocustfile
from spendcast.loadtest.run.recording import LoadedRecording, read_recording
from spendcast.loadtest.run.slo import Slo, SloResult
from spendcast.loadtest.run.summary import build_summary, check_slos

STOP_TIMEOUT_S: Final = 10  # users finish their request in flight: every answer is counted
LOCUST_LOG: Final = "locust.log"
CSV_PREFIX: Final = "locust"
HTML_REPORT: Final = "report.html"


@dataclass(frozen=True)
class RunConfig:
    """Everything one run needs. Secrets (``token``, ``cookie``) never reach the run directory.

    ``spawn_rate`` ``None`` starts every user within the first second; ``out_dir`` ``None``
    writes to ``runs/<UTC timestamp>-<scenario>/``; ``token``/``cookie`` ``None`` keep
    ``SPENDCAST_API_TOKEN``/``SPENDCAST_COOKIE`` from the environment; ``think_time`` is
    ``SPENDCAST_LOADTEST_THINK_TIME`` (seconds, ``"0.1"`` or ``"0.05-0.2"``). ``master``: run
    as Locust's master, the users on workers (``spendcast loadtest --worker``, distributed.py).
    ``user_file``: the user's own locustfile and classes instead of ``scenario``'s (``tags`` and
    ``exclude_tags`` select tasks of either, as Locust's ``--tags``/``--exclude-tags``).
    """

    host: str
    scenario: str = "predict"
    users: int = 10
    spawn_rate: float | None = None
    duration_s: int = 30
    processes: int | None = None
    slos: tuple[Slo, ...] = ()
    out_dir: Path | None = None
    think_time: str | None = None
    token: str | None = None
    cookie: str | None = None
    plots: bool = True
    check_host: bool = True
    extra_env: Mapping[str, str] = field(default_factory=dict)
    # A locustfile with a load shape and no user (``capacity``), appended after the users',
    # and the kit's user class run instead of the scenario's (capacity's open-model users).
    shape_file: Path | None = None
    user_class: str | None = None
    master: MasterOptions | None = None
    user_file: UserLocustfile | None = None
    tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIO_USERS:
            raise ValueError(f"unknown scenario {self.scenario!r}: one of {sorted(SCENARIO_USERS)}")
        if self.users < 1 or self.duration_s < 1:
            raise ValueError("users and duration_s must be at least 1")
        if self.think_time is not None:
            parse_think_time(self.think_time)
        if self.user_file is not None and self.think_time is not None:
            raise ValueError("--think-time paces the built-in scenarios: a locustfile's users "
                             "have their own wait_time")  # fmt: skip

    def public(self) -> dict[str, Any]:
        """The configuration as written in ``summary.json``: no token, no cookie."""
        return {
            "host": public_host(self.host),
            "scenario": self.label,
            "users": self.users,
            "spawn_rate": self.effective_spawn_rate,
            "duration_s": self.duration_s,
            "processes": self.processes,
            "workers": None if self.master is None else self.master.expect_workers,
            "think_time": self.think_time,
            "slos": [slo.expression for slo in self.slos],
            "locustfile": None if self.user_file is None else self.user_file.public(),
            "user_classes": list(self.user_classes),
            "tags": list(self.tags),
            "exclude_tags": list(self.exclude_tags),
        }

    @property
    def effective_spawn_rate(self) -> float:
        return float(self.users) if self.spawn_rate is None else self.spawn_rate

    @property
    def label(self) -> str:
        """The scenario's name, or ``my_test.py: ApiUser`` for a user's locustfile."""
        return self.scenario if self.user_file is None else self.user_file.label

    @property
    def user_classes(self) -> tuple[str, ...]:
        if self.user_file is not None:
            return self.user_file.classes
        return (self.user_class or SCENARIO_USERS[self.scenario],)

    def locustfiles(self) -> list[Path]:
        """What ``-f`` gets: the users' files, the load shape if any, the recording hooks."""
        users = list(self.user_file.files) if self.user_file else [SCENARIOS_LOCUSTFILE]
        return [*users, *([self.shape_file] if self.shape_file else []), RECORDING_LOCUSTFILE]


@dataclass(frozen=True)
class Progress:
    """One live sample from the running Locust (a line of ``progress.jsonl``, once a second).

    ``p95_ms`` is Locust's own (rounded, last 10 s); ``endpoints`` hold exact counts and
    percentiles since the start, keyed ``"GET /predict"``; the ``final`` sample is written once
    every request is counted (its ``rps`` is the run's mean).
    """

    elapsed: float
    users: int
    requests: int
    failures: int
    rps: float
    p95_ms: float | None
    time: float = 0.0
    endpoints: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    final: bool = False


@dataclass(frozen=True)
class RunResult:
    """A finished run: its directory, ``summary.json`` as a dict and the decoded recording."""

    out_dir: Path
    summary: dict[str, Any]
    slo_results: tuple[SloResult, ...]
    recording: LoadedRecording

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.slo_results)

    @property
    def requests(self) -> int:
        return int(self.summary["requests"])

    @property
    def failures(self) -> int:
        return int(self.summary["failures"])

    @property
    def rps(self) -> float:
        return float(self.summary["rps"])

    def histogram(self, method: str | None = None, name: str | None = None) -> LatencyHistogram:
        """Latencies of every request, of one route (all methods), or of one method and route."""
        return LatencyHistogram.merged(
            tally.histogram
            for (m, n), tally in self.recording.endpoints.items()
            if (name is None or n == name) and (method is None or m == method.upper())
        )

    def latency(self, method: str | None = None, name: str | None = None) -> LatencyStats:
        return self.histogram(method, name).stats()

    def count(self, method: str | None = None, name: str | None = None) -> tuple[int, int]:
        """``(requests, failures)`` of every request, a route, or a method and route."""
        tallies = [
            tally
            for (m, n), tally in self.recording.endpoints.items()
            if (name is None or n == name) and (method is None or m == method.upper())
        ]
        return sum(t.requests for t in tallies), sum(t.failures for t in tallies)


def default_out_dir(scenario: str, root: Path = Path("runs")) -> Path:
    """``runs/<UTC timestamp>-<scenario>`` (``scenario``: a name, or a locustfile's stem)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return root / f"{stamp}-{scenario}"


def check_host(host: str, timeout: float = 5.0) -> None:
    """Raise ``LoadTestError`` unless ``host`` answers HTTP (any status counts as an answer)."""
    url = f"{base_url(host)}/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout):  # noqa: S310 (http(s) only, below)
            return
    except urllib.error.HTTPError:
        return  # it answered, even if not with 200 (a proxy's 401, a 404 at /health)
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise LoadTestError(f"host {public_host(host)} does not answer: {reason}") from error


def locust_command(config: RunConfig, out_dir: Path) -> list[str]:
    # The user classes right after -f: Locust's --tags takes every word that follows it.
    command = [
        sys.executable, "-m", "locust",
        "-f", ",".join(str(path) for path in config.locustfiles()), *config.user_classes,
        "--headless", "--only-summary",
        "--host", config.host,
        "--users", str(config.users),
        "--spawn-rate", f"{config.effective_spawn_rate:g}",
        "--run-time", f"{config.duration_s}s",
        "--stop-timeout", str(STOP_TIMEOUT_S),
        "--exit-code-on-error", "0",  # failed requests are results, not a crash
        "--csv", str(out_dir / CSV_PREFIX),
        "--html", str(out_dir / HTML_REPORT),
        OUT_OPTION, str(out_dir),
    ]  # fmt: skip
    if config.processes is not None:
        command += ["--processes", str(config.processes)]
    if config.master is not None:
        command += config.master.locust_args()
    if config.think_time is not None:  # the master sends it to workers on other machines
        command += [THINK_TIME_OPTION, config.think_time]
    return [*command, *locust_tags(config.tags, config.exclude_tags)]


def locust_tags(tags: tuple[str, ...], exclude_tags: tuple[str, ...]) -> list[str]:
    return [*(["--tags", *tags] if tags else []),
            *(["--exclude-tags", *exclude_tags] if exclude_tags else [])]  # fmt: skip


def _environment(config: RunConfig) -> dict[str, str]:
    env = {**os.environ, **config.extra_env}
    for name, value in ((TOKEN_ENV, config.token), (COOKIE_ENV, config.cookie)):
        if value is not None:
            env[name] = value
    if config.think_time is not None:
        env[THINK_TIME_ENV] = config.think_time
    if config.user_file is not None:
        env["PYTHONPATH"] = config.user_file.python_path(env)
    return env


def run_load(config: RunConfig, on_progress: Callable[[Progress], None] | None = None) -> RunResult:
    """Run one load test; raises ``LoadTestError`` when the run itself fails."""
    if not config.host.startswith(("http://", "https://")):
        raise LoadTestError(f"host {config.host!r} must start with http:// or https://")
    if config.check_host:
        check_host(config.host)
    stem = config.scenario if config.user_file is None else config.user_file.stem
    out_dir = (config.out_dir or default_out_dir(stem)).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    code = _run_locust(config, out_dir, on_progress)
    recording_path = out_dir / RECORDING_FILE
    if code != 0 or not recording_path.exists():
        raise LoadTestError(f"Locust failed (exit code {code}): {_last_log_line(out_dir)}")
    recording = read_recording(recording_path)
    slo_results = check_slos(recording, config.slos)
    files: dict[str, Any] = {
        "recording": RECORDING_FILE,
        "html": HTML_REPORT,
        "csv": sorted(p.name for p in out_dir.glob(f"{CSV_PREFIX}_*.csv")),
        "log": LOCUST_LOG,
    }
    summary = build_summary(recording, config.public(), slo_results, files)
    if config.plots:
        from spendcast.loadtest.run.plots import write_plots  # matplotlib: only when plotting

        labels = {f"{m} {n}": t.histogram for (m, n), t in sorted(recording.endpoints.items())}
        if len(labels) > 1:
            labels["total"] = LatencyHistogram.merged(labels.values())
        summary["files"]["plots"] = [p.name for p in write_plots(summary, labels, out_dir)]
    (out_dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if summary["requests"] == 0:
        raise LoadTestError(f"no request completed against {public_host(config.host)}")
    return RunResult(out_dir, summary, slo_results, recording)


def _run_locust(
    config: RunConfig, out_dir: Path, on_progress: Callable[[Progress], None] | None
) -> int:
    """Run Locust to its end, feeding ``on_progress``; returns its exit code."""
    progress_path = out_dir / PROGRESS_FILE
    progress_path.unlink(missing_ok=True)
    waiting = config.master.workers_wait_s if config.master is not None else 0
    deadline = time.monotonic() + waiting + config.duration_s + STOP_TIMEOUT_S + 120
    with (out_dir / LOCUST_LOG).open("wb") as log:
        # cwd: the run directory, so no locust.conf or pyproject.toml around changes the run.
        process = subprocess.Popen(
            locust_command(config, out_dir),
            cwd=out_dir,
            env=_environment(config),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        offset = 0
        try:
            while process.poll() is None:
                if time.monotonic() > deadline:
                    process.kill()
                    process.wait()
                    raise LoadTestError(f"Locust did not finish within {config.duration_s}s")
                offset = _follow(progress_path, offset, on_progress)
                time.sleep(0.25)
        except BaseException:
            if process.poll() is None:  # Ctrl-C or an error: let Locust write what it has
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=STOP_TIMEOUT_S + 30)
            raise
        _follow(progress_path, offset, on_progress)
    return process.returncode


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
        on_progress(Progress(**data))
    return offset + end


def _last_log_line(out_dir: Path) -> str:
    path = out_dir / LOCUST_LOG
    lines = path.read_text(errors="replace").strip().splitlines() if path.exists() else []
    errors = [line for line in lines if "Error" in line or "error" in line]
    return (errors or lines or ["no output"])[-1].strip()
