"""What ``spendcast capacity`` shows: a live bar for the current step and the step table."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console, Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from spendcast.loadtest.capacity.result import new_events
from spendcast.loadtest.run.display import LiveView
from spendcast.loadtest.shared.capacity_step import KneeHeld, StepEnded, StepStarted
from spendcast.loadtest.shared.progress import Progress
from spendcast.loadtest.shared.search import SearchPlan

VERDICT_STYLES = {"holds": "green", "flat": "yellow", "breaks": "bold red"}


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f}"


def steps_table(plan: SearchPlan, steps: Sequence[StepEnded]) -> Table:
    """One row per step: load, answered rps, errors, p50/p95/p99, stable, verdict and why."""
    table = Table(title=f"capacity search · {plan.mode} · SLO {' '.join(plan.slos)}")
    table.add_column("#", justify="right")
    table.add_column("users" if plan.mode == "users" else "offered iterations/s", justify="right")
    table.add_column("req/s", justify="right")
    table.add_column("errors", justify="right")
    for key in ("p50", "p95", "p99"):
        table.add_column(f"{key} ms", justify="right")
    table.add_column("stable")
    table.add_column("verdict")
    for step in steps:
        figures = step.figures
        latency = figures.latency_ms
        verdict = Text(step.verdict, style=VERDICT_STYLES.get(step.verdict, ""))
        if step.reason:
            verdict.append(f" {step.reason}", style="dim")
        for note in step.generator.notes:
            verdict.append(f" ⚠ {note}", style="yellow")
        table.add_row(
            str(step.index) + ("b" if step.phase == "bisect" else ""),
            f"{step.load:g}",
            f"{figures.rps:,.1f}",
            f"{figures.error_rate * 100:.2g} %",
            *(_ms(value) for value in (latency.p50, latency.p95, latency.p99)),
            "yes" if step.stable else "cap",
            verdict,
        )
    return table


class CapacityLive(LiveView):
    """The live view: the finished steps' table and a bar for the step under way."""

    def __init__(self, console: Console, plan: SearchPlan, steps_path: Path) -> None:
        self.plan = plan
        self.path = steps_path
        self.offset = 0
        self.steps: list[StepEnded] = []
        self.current: StepStarted | KneeHeld | None = None
        self.progress: Progress | None = None
        super().__init__(console, self._render())

    def update(self, progress: Progress) -> None:
        self.progress = progress
        self._read()
        self._live.update(self._render())

    def _read(self) -> None:
        events, self.offset = new_events(self.path, self.offset)
        for event in events:
            if isinstance(event, StepStarted | KneeHeld):  # knee: held while py-spy samples
                self.current = event
            elif isinstance(event, StepEnded):
                self.steps.append(event)
                self.current = None

    def _render(self) -> RenderableType:
        parts: list[RenderableType] = []
        if self.steps:
            parts.append(steps_table(self.plan, self.steps))
        if self.current is None:
            parts.append(Text("capacity: starting Locust…", style="dim"))
            return Group(*parts)
        elapsed = time.time() - float(self.current.at)
        cap = self.plan.max_step_s
        unit = "users" if self.plan.mode == "users" else "iterations/s offered"
        if isinstance(self.current, KneeHeld):
            line = Text("step knee (py-spy sampling) · ")
        else:
            line = Text(f"step {self.current.index} ({self.current.phase}) · ")
        line.append(f"{self.current.load:g} {unit}", style="bold")
        if self.progress is not None:
            p95 = "–" if self.progress.p95_ms is None else f"{self.progress.p95_ms:g} ms"
            line.append(f" · {self.progress.rps:,.0f} req/s · p95 {p95}")
        line.append(f" · {elapsed:3.0f}s (at most {cap}s, until stable)")
        parts += [line, ProgressBar(total=cap, completed=min(elapsed, cap), width=60)]
        return Group(*parts)
