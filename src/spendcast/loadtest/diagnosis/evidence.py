"""The diagnosis's evidence in words a user can check: a process's CPU, the throughput and
latency from the step below to the knee, Little's law, what py-spy saw."""

from __future__ import annotations

from typing import Final

from spendcast.loadtest.diagnosis.figures import KneeSamples, StepFigures, Use

LITTLE_GAP: Final = 0.25  # users vs throughput × latency: beyond this share they disagree
BUSY_SAMPLES: Final = 0.9  # on-CPU share of the samples above which waiting is not worth naming
QUEUED_NOTE: Final = 5.0  # % of a core waited in the run queue: worth saying


def pct(value: float) -> str:
    return f"{value:.0f} %"


def used(use: Use) -> str:
    """``12 (python) at 60 % of a core + 35 % queued for a CPU``: what it used and wanted."""
    text = f"{use.pid} ({use.name}) at {pct(use.cpu_percent)} of a core"
    if (use.queued_percent or 0.0) >= QUEUED_NOTE:
        text += f" + {pct(use.queued_percent or 0.0)} queued for a CPU"
    return text


def ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f} ms"


def little_gap(step: StepFigures) -> float | None:
    """The share of the users' time spent outside requests (closed model, Little's law)."""
    in_flight = step.in_flight
    if in_flight is None or step.users <= 0:
        return None
    return 1 - in_flight / step.users


def little(step: StepFigures, mode: str) -> str | None:
    """Little's law on a step, in words; ``None`` when latency is unknown."""
    in_flight = step.in_flight
    if in_flight is None or step.mean_ms is None:
        return None
    text = (f"Little's law at {step.load:g}: {step.rps:,.1f} req/s × {ms(step.mean_ms)} = "
            f"{in_flight:.1f} requests in flight")  # fmt: skip
    if mode != "users" or step.users <= 0:
        return text + (f" (at most {step.max_in_flight} seen)" if step.max_in_flight else "")
    gap = little_gap(step) or 0.0
    if abs(gap) <= LITTLE_GAP:
        return text + f" ≈ {step.users} users (consistent)"
    return text + (f" of {step.users} users: the users spent {pct(100 * gap)} of their time "
                   "outside requests (the generator's own CPU, or think time)")  # fmt: skip


def growth(below: StepFigures | None, knee: StepFigures) -> str | None:
    if below is None or below.rps <= 0:
        return None
    text = (f"from {below.load:g} to {knee.load:g}: throughput {below.rps:,.1f} → "
            f"{knee.rps:,.1f} req/s ({100 * (knee.rps / below.rps - 1):+.0f} %), p99 "
            f"{ms(below.p99_ms)} → {ms(knee.p99_ms)}")  # fmt: skip
    if below.in_flight and knee.in_flight:
        text += (f", in flight {below.in_flight:.1f} → {knee.in_flight:.1f} "
                 f"({100 * (knee.in_flight / below.in_flight - 1):+.0f} %)")  # fmt: skip
    return text


def side_lines(step: StepFigures) -> list[str]:
    lines = []
    if step.server is not None:
        parts = ", ".join(used(u) for u in step.server)
        lines.append(f"server CPU at {step.load:g} by process: {parts}")
    if step.generator:
        parts = ", ".join(used(u) for u in step.generator)
        lines.append(f"Locust CPU at {step.load:g} by process: {parts}")
    if step.machine_cpu_percent is not None:
        lines.append(f"the machine's CPU in all: {pct(step.machine_cpu_percent)}")
    return lines


def sample_lines(samples: KneeSamples) -> list[str]:
    if samples.error is not None:
        return [f"no samples at the knee: {samples.error}"]
    lines = []
    share = samples.on_cpu_share
    if share is not None:
        lines.append(f"py-spy at the knee ({samples.seconds:.0f} s): {pct(100 * share)} of the "
                     f"request samples on a CPU, {pct(100 * (1 - share))} waiting")  # fmt: skip
    if (hot := samples.hot) is not None:
        lines.append(f"innermost application function in over half the samples: {hot.label()}, "
                     f"{pct(100 * hot.share)}")  # fmt: skip
    if samples.waiting_stacks and share is not None and share < BUSY_SAMPLES:
        lines.append("where requests wait: " + "; ".join(
            f"{w.label()} ({pct(100 * w.share)})" for w in samples.waiting_stacks))  # fmt: skip
    return lines
