"""Each test started from ``spendcast ui``'s page becomes a run directory when it stops.

``LoadChanges`` notes the user count and the arrival rate when the test starts and each time
the page changes them; when the test stops (Stop, a run time, Ctrl-C: Locust's ``test_stop``,
once every worker handed over), ``save`` writes what ``spendcast loadtest`` writes:
``recording.json``, Locust's CSV files and HTML report, then ``summary.json`` and the plots
through the run primitive (``runner.write_summary``), the changes as the load plan's stages
(users, or iterations/s once a rate was set), so ``compare`` and ``report`` take UI runs as
headless ones.
"""

from __future__ import annotations

import csv
import itertools
from dataclasses import replace
from pathlib import Path

from locust.env import Environment
from locust.html import get_html_report
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

from spendcast.loadtest.shared.contract import (
    CSV_PREFIX,
    HTML_REPORT,
    RECORDING_FILE,
    WARMUP_OPTION,
    option_dest,
)
from spendcast.loadtest.shared.credentials import public_host
from spendcast.loadtest.shared.load_changes import LoadChanges
from spendcast.loadtest.shared.recording import Recording
from spendcast.loadtest.shared.run_files import default_out_dir, write_summary
from spendcast.loadtest.shared.slo import Slo
from spendcast.loadtest.shared.ui_session import UiSession


def save(
    environment: Environment,
    recording: Recording,
    log: LoadChanges,
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
    public = replace(
        session.config,
        host=public_host(environment.host or ""),
        users=users if plan is None else None,
        spawn_rate=float(getattr(options, "spawn_rate", 0) or 0),
        duration_s=max(round(stopped - started), 1),
        load_plan=plan,
        warmup_s=int(getattr(options, option_dest(WARMUP_OPTION), 0) or 0),
    )
    if public.workers is not None:  # --master: the workers that took part
        public = replace(public, workers=len(recording.workers))
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
