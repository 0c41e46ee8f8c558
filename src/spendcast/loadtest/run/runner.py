"""The run primitive: one headless Locust run against a host, as one directory of results.

``run_load(config)`` checks that the host answers, runs ``python -m locust`` as a subprocess
(gevent's monkey-patching stays out of this process; ``--processes`` works) with
``-f [PLAN,]USERS[,SHAPE],RECORDING``: the load plan's shape for ``--rate``/``--stages``, the
users' locustfile (the kit's scenarios, or the user's own checked by
``locustfile.inspect_locustfile``) and the user classes to run, capacity's load shape if any,
and the recording hooks, which measure any user (and put it on the open model's timetable).
It follows the progress, then reads the exact latencies back, checks the SLOs and writes
``summary.json`` and the plots. ``capacity``, ``compare`` and ``profile`` are built on it. It
never imports Locust itself.
"""

from __future__ import annotations

import json
import math
import signal
import ssl
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
    LIVE_SLO_ENV,
    LOAD_PLAN_OPTION,
    OUT_OPTION,
    PLAN_LOCUSTFILE,
    PROGRESS_FILE,
    RECORDING_FILE,
    RECORDING_LOCUSTFILE,
    REPLAY_FILE,
    REPLAY_LOCUSTFILE,
    REPLAY_OPTION,
    REPLAY_SPEED_OPTION,
    REPLAY_USER,
    RUN_TIME_OPTION,
    SCENARIO_USERS,
    SCENARIOS_LOCUSTFILE,
    STOP_FILE,
    SUMMARY_FILE,
    THINK_TIME_OPTION,
    WARMUP_OPTION,
)
from spendcast.loadtest.progress import Progress
from spendcast.loadtest.run.abort import DEFAULT_GRACE_S, Abort, AbortRule, live_observations
from spendcast.loadtest.run.arrival_pattern import CONSTANT, ArrivalPattern
from spendcast.loadtest.run.credentials import base_url, locust_environment, public_host
from spendcast.loadtest.run.distributed import MasterOptions
from spendcast.loadtest.run.duration import parse_think_time
from spendcast.loadtest.run.latency import LatencyHistogram
from spendcast.loadtest.run.load_plan import DEFAULT_MAX_USERS, LoadPlan, Stage
from spendcast.loadtest.run.locustfile import UserLocustfile
from spendcast.loadtest.run.recording import LoadedRecording, read_recording
from spendcast.loadtest.run.replay import Trace
from spendcast.loadtest.run.server_process import free_port
from spendcast.loadtest.run.slo import Slo, SloResult
from spendcast.loadtest.run.summary import build_summary, check_slos, slo_fields

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
    ``abort_on_fail``: stop as soon as an SLO is broken beyond recovery, or still broken
    ``abort_grace_s`` into the run (abort.py). ``user_file``: the user's own locustfile and
    classes instead of ``scenario``'s (``tags`` and ``exclude_tags`` select tasks of either, as
    Locust's ``--tags``/``--exclude-tags``).

    The load plan (``load_plan.py``): ``rate`` alone is a constant arrival rate for
    ``duration_s``; with ``stages`` it is the starting rate, and without ``rate`` the stages
    are users (closed); ``stages`` set ``duration_s`` to their total and ``users`` no longer
    counts. ``max_users`` bounds the open model's pool. It drives any user class: the
    scenario's or the user's own locustfile's.
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
    # A locustfile with a load shape and no user (``capacity``), appended after the users'.
    shape_file: Path | None = None
    master: MasterOptions | None = None
    abort_on_fail: bool = False
    abort_grace_s: float = DEFAULT_GRACE_S
    rate: float | None = None
    stages: tuple[Stage, ...] = ()
    max_users: int = DEFAULT_MAX_USERS
    arrival: ArrivalPattern = CONSTANT  # how the open model spaces its iterations
    user_file: UserLocustfile | None = None
    tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    # False: the user classes' own ``host`` attributes (no --host for Locust, as plain locust).
    pass_host: bool = True
    # With a load shape of the user's file: ``duration_s`` ends it as -t would (it was given);
    # False: the shape alone ends the run, as under plain locust.
    bounded: bool = True
    # The first seconds, sent but left out of every figure and SLO (window.py); ``slice_s``:
    # figures per slice of the measured window, and the drift line.
    warmup_s: int = 0
    slice_s: int | None = None
    # --replay: the recorded requests sent again, ``replay_speed`` times as fast on the open
    # model's timetable (``None``: as fast as answered by ``users``, the closed model).
    replay: Trace | None = None
    replay_speed: float | None = 1.0

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIO_USERS:
            raise ValueError(f"unknown scenario {self.scenario!r}: one of {sorted(SCENARIO_USERS)}")
        if self.users < 1 or self.duration_s < 1:
            raise ValueError("users and duration_s must be at least 1")
        if self.warmup_s < 0 or (self.slice_s is not None and self.slice_s < 1):
            raise ValueError("--warmup is 0 or more and --slice at least 1s")
        if self.think_time is not None:
            parse_think_time(self.think_time)
        if self.user_file is not None and self.think_time is not None:
            raise ValueError("--think-time paces the built-in scenarios: a locustfile's users "
                             "have their own wait_time")  # fmt: skip
        if self.replay is not None:
            self._check_replay()
        if not self.arrival.is_constant and self.rate is None:
            raise ValueError("--arrival spaces the open model's iterations: give --rate")
        plan = self.plan
        if plan is not None:
            object.__setattr__(self, "duration_s", plan.duration_s)  # frozen: set once, here
            if plan.model == "rate" and self.think_time is not None:
                raise ValueError("--think-time is the closed model's pause: the timetable "
                                 "sets when each iteration starts")  # fmt: skip
            generators = self.master.expect_workers if self.master else self.processes or 1
            if plan.model == "rate" and self.max_users < generators:
                raise ValueError(f"--max-users {self.max_users} leaves a process without user: "
                                 f"{generators} processes generate the load")  # fmt: skip
        if self.warmup_s and self.time_limit_s is not None and self.warmup_s >= self.time_limit_s:
            raise ValueError(f"--warmup {self.warmup_s}s leaves nothing to measure in a "
                             f"{self.time_limit_s}s run")  # fmt: skip

    def _check_replay(self) -> None:
        if self.user_file is not None or self.rate is not None or self.stages:
            raise ValueError("--replay sends the recorded requests at their recorded times: "
                             "no -f, --rate or --stages")  # fmt: skip
        if self.master is not None:
            raise ValueError("--replay reads the trace on this machine: split it with "
                             "--processes, not --master's workers")  # fmt: skip
        if self.replay_speed is None and self.processes is not None:
            raise ValueError("--speed max replays the trace in order from one process: "
                             "no --processes")  # fmt: skip
        if self.replay_speed is not None and self.think_time is not None:
            raise ValueError("--think-time is the closed model's pause: give --speed max")

    @property
    def user_shape(self) -> bool:
        """The user's file has a load shape and it drives the run (no load plan, no capacity)."""
        return bool(self.user_file and self.user_file.shapes and not self.plan and
                    not self.shape_file)  # fmt: skip

    @property
    def time_limit_s(self) -> int | None:
        """When the run is ended from outside (``None``: only the user's shape ends it)."""
        return None if self.user_shape and not self.bounded else self.duration_s

    @property
    def plan(self) -> LoadPlan | None:
        """The run's load plan; ``None``: ``users`` for ``duration_s`` (Locust's own way)."""
        if self.replay is not None:
            speed = self.replay_speed
            return None if speed is None else self.replay.plan(speed, self.max_users)
        if self.rate is None and not self.stages:
            return None
        if self.rate is None:
            return LoadPlan("users", self.stages)
        if not self.stages:
            return LoadPlan.constant_rate(self.rate, self.duration_s, self.max_users, self.arrival)
        return LoadPlan("rate", self.stages, self.rate, self.max_users, self.arrival)

    def public(self) -> dict[str, Any]:
        """The configuration as written in ``summary.json``: no token, no cookie."""
        plan = self.plan
        return {
            "host": public_host(self.host),
            "scenario": self.label,
            "users": self.users if plan is None and not self.user_shape else None,
            "spawn_rate": None if self.user_shape else self.effective_spawn_rate,
            "duration_s": self.time_limit_s,
            "processes": self.processes,
            "workers": None if self.master is None else self.master.expect_workers,
            "think_time": self.think_time,
            "slos": [slo.expression for slo in self.slos],
            "abort_on_fail": self.abort_on_fail,
            "abort_grace_s": self.abort_grace_s if self.abort_on_fail else None,
            "load_plan": None if plan is None else plan.to_json(),
            "locustfile": None if self.user_file is None else self.user_file.public(),
            "user_classes": list(self.user_classes),
            "tags": list(self.tags),
            "exclude_tags": list(self.exclude_tags),
            "warmup_s": self.warmup_s,
            "slice_s": self.slice_s,
            "replay": None if self.replay is None else self.replay.public(self.replay_speed),
        }

    @property
    def effective_spawn_rate(self) -> float:
        return float(self.users) if self.spawn_rate is None else self.spawn_rate

    @property
    def label(self) -> str:
        """The scenario's name, or ``my_test.py: ApiUser`` for a user's locustfile."""
        if self.replay is not None:
            return "replay"
        return self.scenario if self.user_file is None else self.user_file.label

    @property
    def user_classes(self) -> tuple[str, ...]:
        if self.user_file is not None:
            return self.user_file.classes
        return (REPLAY_USER,) if self.replay else (SCENARIO_USERS[self.scenario],)

    def locustfiles(self) -> list[Path]:
        """What ``-f`` gets: the load plan's shape first (``--rate``/``--stages``: Locust runs
        the first shape it finds, so it wins over any shape of the users' files), the users'
        files, capacity's load shape if any, and always last the recording hooks."""
        plan = [PLAN_LOCUSTFILE] if self.plan is not None else []
        users = list(self.user_file.files) if self.user_file else [SCENARIOS_LOCUSTFILE]
        if self.replay is not None:
            users = [REPLAY_LOCUSTFILE]
        shape = [self.shape_file] if self.shape_file else []
        return [*plan, *users, *shape, RECORDING_LOCUSTFILE]


@dataclass(frozen=True)
class RunResult:
    """A finished run: its directory, ``summary.json`` as a dict and the decoded recording."""

    out_dir: Path
    summary: dict[str, Any]
    slo_results: tuple[SloResult, ...]
    recording: LoadedRecording
    abort: Abort | None = None  # --abort-on-fail ended the run early (exit code 3)
    # Locust's exit code: the locustfile's ``environment.process_exit_code`` if it set one
    # (Locust's CI recipe), 2 after an error in a greenlet; the run directory is written.
    locust_exit_code: int = 0

    @property
    def passed(self) -> bool:
        return self.abort is None and all(result.passed for result in self.slo_results)

    @property
    def requests(self) -> int:
        return int(self.summary["requests"])

    @property
    def failures(self) -> int:
        return int(self.summary["failures"])

    @property
    def rps(self) -> float:
        return float(self.summary["rps"])

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
    """Raise ``LoadTestError`` unless ``host`` answers HTTP (any status counts as an answer).

    The certificate is not verified: the check is never stricter than the users it runs
    (FastHttpUser does not verify, a file may set ``verify=False``); they decide."""
    url = f"{base_url(host)}/health"
    unverified = ssl.create_default_context()
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=unverified):  # noqa: S310
            return
    except urllib.error.HTTPError:
        return  # it answered, even if not with 200 (a proxy's 401, a 404 at /health)
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise LoadTestError(f"host {public_host(host)} does not answer: {reason}") from error


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


def run_load(config: RunConfig, on_progress: Callable[[Progress], None] | None = None) -> RunResult:
    """Run one load test; raises ``LoadTestError`` when the run itself fails."""
    if not config.host.startswith(("http://", "https://")):
        raise LoadTestError(f"host {config.host!r} must start with http:// or https://")
    if config.check_host:
        check_host(config.host)
    stem = config.scenario if config.user_file is None else config.user_file.stem
    out_dir = (config.out_dir or default_out_dir(config.label if config.replay else stem)).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    if config.replay is not None:
        config.replay.write(out_dir / REPLAY_FILE)
    code, abort = _run_locust(config, out_dir, on_progress)
    recording_path = out_dir / RECORDING_FILE
    if code < 0 or not recording_path.exists():  # killed, or it never ran its test
        raise LoadTestError(f"Locust failed (exit code {code}): {_last_log_line(out_dir)}")
    summary, slo_results, recording = write_summary(
        out_dir, config.public(), config.plan, config.slos, abort, plots=config.plots,
        slice_s=config.slice_s, locust_exit_code=code,
    )  # fmt: skip
    if summary["requests"] == 0:
        raise LoadTestError(f"no request completed against {public_host(config.host)}")
    return RunResult(out_dir, summary, slo_results, recording, abort, code)


def write_summary(
    out_dir: Path,
    public: Mapping[str, Any],
    plan: LoadPlan | None,
    slos: tuple[Slo, ...],
    abort: Abort | None = None,
    *,
    plots: bool = True,
    slice_s: int | None = None,
    locust_exit_code: int = 0,
) -> tuple[dict[str, Any], tuple[SloResult, ...], LoadedRecording]:
    """``summary.json`` and the plots of a run directory whose ``recording.json`` (and
    Locust's files) are written; ``public``: the configuration, without secret."""
    recording = read_recording(out_dir / RECORDING_FILE)
    files: dict[str, Any] = {
        "recording": RECORDING_FILE,
        "html": HTML_REPORT,
        "csv": sorted(p.name for p in out_dir.glob(f"{CSV_PREFIX}_*.csv")),
        "log": LOCUST_LOG if (out_dir / LOCUST_LOG).exists() else None,  # spendcast ui: none
    }
    summary = build_summary(recording, public, files=files, plan=plan, slice_s=slice_s)
    summary["locust_exit_code"] = locust_exit_code
    slo_results = check_slos(recording, slos)
    if abort is not None:  # the SLO that ended the run, as it was seen breaking
        slo_results = tuple(abort.result if r.slo == abort.result.slo else r for r in slo_results)
    summary |= slo_fields(slo_results, None if abort is None else abort.as_dict())
    if plots:
        from spendcast.loadtest.run.plots import write_plots  # matplotlib: only when plotting

        labels = {f"{m} {n}": t.histogram for (m, n), t in sorted(recording.endpoints.items())}
        if len(labels) > 1:
            labels["total"] = LatencyHistogram.merged(labels.values())
        summary["files"]["plots"] = [p.name for p in write_plots(summary, labels, out_dir)]
    (out_dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary, slo_results, recording


def _run_locust(
    config: RunConfig, out_dir: Path, on_progress: Callable[[Progress], None] | None
) -> tuple[int, Abort | None]:
    """Run Locust to its end (or until an SLO aborts it: SIGTERM, Locust still writes every
    file), feeding ``on_progress``; returns its exit code and the abort if any."""
    rule = AbortRule(config.slos, config.abort_grace_s) if config.abort_on_fail else None
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
    waiting = config.master.workers_wait_s if config.master is not None else 0
    limit = config.time_limit_s
    allowed_s = math.inf if limit is None else waiting + limit + STOP_TIMEOUT_S + 120
    deadline = time.monotonic() + allowed_s
    with (out_dir / LOCUST_LOG).open("wb") as log:
        # cwd: a user's file runs where the user is, as under plain locust (its data files,
        # locust.conf, pyproject.toml); the kit's scenarios in the run directory, unaffected.
        process = subprocess.Popen(
            locust_command(config, out_dir),
            cwd=out_dir if config.user_file is None else config.user_file.cwd,
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


def _last_log_line(out_dir: Path) -> str:
    path = out_dir / LOCUST_LOG
    lines = path.read_text(errors="replace").strip().splitlines() if path.exists() else []
    errors = [line for line in lines if "Error" in line or "error" in line]
    return (errors or lines or ["no output"])[-1].strip()
