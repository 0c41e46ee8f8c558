"""A run directory's name and the files computed from its recording: ``summary.json`` and plots.

Both sides write run directories: the CLI after a headless run, the Locust side after each run
of ``spendcast ui``; one ``write_summary`` makes them alike for ``compare`` and ``report``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from spendcast.loadtest.shared.abort import Abort
from spendcast.loadtest.shared.contract import (
    CSV_PREFIX,
    HTML_REPORT,
    LOCUST_LOG,
    RECORDING_FILE,
    SUMMARY_FILE,
)
from spendcast.loadtest.shared.latency import LatencyHistogram
from spendcast.loadtest.shared.load_plan import LoadPlan
from spendcast.loadtest.shared.recording_file import LoadedRecording, read_recording
from spendcast.loadtest.shared.run_settings import RunSettings
from spendcast.loadtest.shared.run_summary import Files, Summary
from spendcast.loadtest.shared.slo import Slo
from spendcast.loadtest.shared.summary import build_summary, check_slos


def default_out_dir(scenario: str, root: Path = Path("runs")) -> Path:
    """``runs/<UTC timestamp>-<scenario>`` (``scenario``: a name, or a locustfile's stem)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return root / f"{stamp}-{scenario}"


def write_summary(
    out_dir: Path,
    public: RunSettings,
    plan: LoadPlan | None,
    slos: tuple[Slo, ...],
    abort: Abort | None = None,
    *,
    plots: bool = True,
    slice_s: int | None = None,
    locust_exit_code: int = 0,
) -> tuple[Summary, LoadedRecording]:
    """``summary.json`` and the plots of a run directory whose ``recording.json`` (and
    Locust's files) are written; ``public``: the configuration, without secret."""
    recording = read_recording(out_dir / RECORDING_FILE)
    files = Files(
        recording=RECORDING_FILE,
        html=HTML_REPORT,
        csv=tuple(sorted(p.name for p in out_dir.glob(f"{CSV_PREFIX}_*.csv"))),
        log=LOCUST_LOG if (out_dir / LOCUST_LOG).exists() else None,  # spendcast ui: none
    )
    slo_results = check_slos(recording, slos)
    if abort is not None:  # the SLO that ended the run, as it was seen breaking
        slo_results = tuple(abort.result if r.slo == abort.result.slo else r for r in slo_results)
    summary = build_summary(recording, public, slo_results, files, abort, plan, slice_s)
    summary = replace(summary, locust_exit_code=locust_exit_code)
    if plots:
        from spendcast.loadtest.shared.plots import write_plots  # matplotlib: only when plotting

        labels = {f"{m} {n}": t.histogram for (m, n), t in sorted(recording.endpoints.items())}
        if len(labels) > 1:
            labels["total"] = LatencyHistogram.merged(labels.values())
        written = write_plots(summary, labels, out_dir)
        summary = replace(summary, files=replace(files, plots=tuple(p.name for p in written)))
    write_summary_file(out_dir, summary)
    return summary, recording


def write_summary_file(out_dir: Path, summary: Summary) -> None:
    text = json.dumps(summary.to_json(), indent=2) + "\n"
    (out_dir / SUMMARY_FILE).write_text(text, encoding="utf-8")


def read_summary(out_dir: Path) -> Summary:
    """The ``summary.json`` of a run directory (``OSError``, ``ValueError``, ``KeyError``,
    ``TypeError`` when it is missing or not a summary)."""
    return Summary.from_json(json.loads((out_dir / SUMMARY_FILE).read_text(encoding="utf-8")))
