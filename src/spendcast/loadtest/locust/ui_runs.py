"""Each test started from ``spendcast ui``'s page becomes a run directory when it stops.

``TestLog`` notes the user count and the arrival rate when the test starts and each time the
page changes them; when the test stops (Stop, a run time, Ctrl-C: Locust's ``test_stop``,
once every worker handed over), ``save`` writes what ``spendcast loadtest`` writes:
``recording.json``, Locust's CSV files and HTML report, then ``summary.json`` and the plots
through the run primitive (``runner.write_summary``), the changes as the load plan's stages
(users, or iterations/s once a rate was set), so ``compare`` and ``report`` take UI runs as
headless ones.
"""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

from locust.env import Environment
from locust.html import get_html_report
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

from spendcast.loadtest.contract import RECORDING_FILE
from spendcast.loadtest.run.credentials import public_host
from spendcast.loadtest.run.load_plan import LoadPlan, Stage
from spendcast.loadtest.run.recording import Recording
from spendcast.loadtest.run.runner import CSV_PREFIX, HTML_REPORT, default_out_dir, write_summary
from spendcast.loadtest.run.slo import Slo
from spendcast.loadtest.ui.session import UiSession


class TestLog:
    """The load asked during one test: ``(at, users, rate)``, the first when it started."""

    def __init__(self) -> None:
        self.changes: list[tuple[float, int, float | None]] = []

    def start(self, at: float, users: int, rate: float | None) -> None:
        self.changes = [(at, users, rate)]

    def change(self, at: float, users: int, rate: float | None) -> None:
        if self.changes and self.changes[-1][1:] != (users, rate):
            self.changes.append((at, users, rate))

    @property
    def open_model(self) -> bool:
        return any(rate is not None for _, _, rate in self.changes)

    def plan(self, origin: float, stopped: float) -> LoadPlan | None:
        """The load asked as stages from ``origin`` (``None``: one user count throughout, as
        a plain Locust run); a stage lasts at least a second."""
        if not self.changes:
            return None
        open_model = self.open_model
        targets = [(at, (rate or 0.0) if open_model else float(users))
                   for at, users, rate in self.changes]  # fmt: skip
        if not open_model and len({target for _, target in targets}) == 1:
            return None
        stages: list[Stage] = []
        ends = [at for at, _ in targets[1:]] + [stopped]
        for (at, target), end in zip(targets, ends, strict=True):
            seconds = max(round(end - max(at, origin)), 1)
            if stages and stages[-1].target == target:
                stages[-1] = Stage(stages[-1].duration_s + seconds, target)
            else:
                stages.append(Stage(seconds, target))
        pool = max(users for _, users, _ in self.changes)
        try:
            if open_model:
                return LoadPlan("rate", tuple(stages), targets[0][1], max(pool, 1))
            return LoadPlan("users", tuple(stages))
        except ValueError:  # a rate too low to start an iteration: no plan to describe it
            return None


def save(
    environment: Environment,
    recording: Recording,
    log: TestLog,
    session: UiSession,
    slos: tuple[Slo, ...],
) -> Path:
    """Write the run directory of the test that just stopped; returns it."""
    out_dir = _new_dir(default_out_dir(session.stem, Path(session.runs_dir)))
    recording.write(out_dir / RECORDING_FILE)
    writer = StatsCSV(environment, PERCENTILES_TO_REPORT)
    for kind, write in (("stats", writer.requests_csv), ("failures", writer.failures_csv),
                        ("exceptions", writer.exceptions_csv)):  # fmt: skip
        with (out_dir / f"{CSV_PREFIX}_{kind}.csv").open("w", newline="", encoding="utf-8") as f:
            write(csv.writer(f))
    html = get_html_report(environment, show_download_link=False)  # type: ignore[no-untyped-call]
    (out_dir / HTML_REPORT).write_text(html, encoding="utf-8")
    started = recording.started_at or 0.0
    stopped = recording.stopped_at or started
    plan = log.plan(recording.plan_started_at or started, stopped)
    users = log.changes[-1][1] if log.changes else 0
    options = environment.parsed_options
    public = {
        **session.config,
        "host": public_host(environment.host or ""),
        "users": users if plan is None else None,
        "spawn_rate": float(getattr(options, "spawn_rate", 0) or 0),
        "duration_s": max(round(stopped - started), 1),
        "load_plan": None if plan is None else plan.to_json(),
    }
    write_summary(out_dir, public, plan, slos)
    return out_dir


def _new_dir(path: Path) -> Path:
    """``path``, or ``path-2``, ``path-3``... if a test of the same second took it."""
    for candidate in itertools.chain([path], (Path(f"{path}-{n}") for n in itertools.count(2))):
        try:
            candidate.mkdir(parents=True)
        except FileExistsError:
            continue
        return candidate.resolve()
    raise AssertionError("unreachable")
