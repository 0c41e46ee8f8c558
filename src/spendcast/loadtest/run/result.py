"""A finished run (``RunResult``) and its ``summary.json`` and plots, written from the recording."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spendcast.loadtest.contract import RECORDING_FILE, SUMMARY_FILE
from spendcast.loadtest.run.abort import Abort
from spendcast.loadtest.run.latency import LatencyHistogram
from spendcast.loadtest.run.load_plan import LoadPlan
from spendcast.loadtest.run.locust_command import CSV_PREFIX, HTML_REPORT, LOCUST_LOG
from spendcast.loadtest.run.recording import LoadedRecording, read_recording
from spendcast.loadtest.run.slo import Slo, SloResult
from spendcast.loadtest.run.summary import build_summary, check_slos, slo_fields


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
