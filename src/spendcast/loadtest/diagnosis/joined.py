"""The steps of a capacity search (or a whole load test) joined with what the watcher read.

``capacity_diagnosis`` turns ``capacity_steps.jsonl``'s ended steps and the watcher's readings
into ``StepFigures`` and the verdict; ``run_diagnosis`` does the same for one ``loadtest`` run
taken as a single step (the step broke when an SLO did or the open model dropped requests);
``attach_run_diagnosis`` adds it to the run's ``summary.json``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace

from spendcast.loadtest.diagnosis.figures import Diagnosis, StepFigures
from spendcast.loadtest.diagnosis.verdict import diagnose
from spendcast.loadtest.diagnosis.watcher import Watcher
from spendcast.loadtest.run.result import RunResult
from spendcast.loadtest.shared.capacity_step import StepEnded
from spendcast.loadtest.shared.run_files import write_summary_file


def step_figures(step: StepEnded, watcher: Watcher) -> StepFigures:
    """One ended step of ``capacity_steps.jsonl`` with the use measured over its windows."""
    figures, counts = step.figures, step.generator.timetable
    end = float(step.ended_at)
    start = max(float(step.started_at), end - float(figures.seconds or 0) - 1.0)
    server, locust, machine = watcher.between(start, end)
    return StepFigures(
        index=int(step.index),
        load=float(step.load),
        verdict=step.verdict,
        rps=float(figures.rps),
        error_rate=float(figures.error_rate),
        p99_ms=figures.latency_ms.p99,
        mean_ms=figures.latency_ms.mean,
        users=int(step.generator.users),
        server=server,
        generator=locust,
        machine_cpu_percent=machine,
        sent=None if counts is None else counts.sent,
        late=None if counts is None else counts.late,
        dropped=None if counts is None else counts.dropped,
        max_in_flight=None if counts is None else counts.max_in_flight,
    )


def capacity_diagnosis(steps: Sequence[StepEnded], mode: str, watcher: Watcher) -> Diagnosis:
    figures = [step_figures(step, watcher) for step in steps]
    return diagnose(figures, mode=mode, cores=os.cpu_count(), samples=watcher.knee,
                    server_source=watcher.target.source)  # fmt: skip


def run_diagnosis(run: RunResult, watcher: Watcher) -> Diagnosis | None:
    """A load test's diagnosis when it broke an SLO or dropped iterations, else ``None``."""
    summary = run.summary
    dropped = summary.dropped
    if run.passed and not dropped:
        return None
    recording = run.recording
    server, locust, machine = watcher.between(recording.started_at, recording.stopped_at)
    if server is None and watcher.readings:  # a load too short for two readings: the whole run
        server, locust, machine = watcher.between(watcher.readings[0].at, watcher.readings[-1].at)
    config, total = summary.config, summary.total
    plan = config.load_plan if config.rate_model else None
    rate = None if plan is None else max(stage.target for stage in plan.stages)
    figures = StepFigures(
        index=1,
        load=float(rate or config.users or 0),
        verdict="breaks",
        rps=float(total.rps),
        error_rate=float(total.error_rate),
        p99_ms=total.latency_ms.p99,
        mean_ms=total.latency_ms.mean,
        users=config.users or 0,
        server=server,
        generator=locust,
        machine_cpu_percent=machine,
        dropped=dropped if rate else None,
    )
    mode = "rate" if rate else "users"
    return diagnose([figures], mode=mode, cores=os.cpu_count(),
                    server_source=watcher.target.source)  # fmt: skip


def attach_run_diagnosis(run: RunResult, watcher: Watcher) -> Diagnosis | None:
    """``run_diagnosis``, also written into the run's ``summary.json`` (``diagnosis``)."""
    diagnosis = run_diagnosis(run, watcher)
    if diagnosis is not None:
        write_summary_file(run.out_dir, replace(run.summary, diagnosis=diagnosis.to_json()))
    return diagnosis
