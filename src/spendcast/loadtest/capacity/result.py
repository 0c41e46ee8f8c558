"""``CapacityResult``: a capacity search's steps and its answer, in one sentence and as JSON.

``capacity.json`` is a ``CapacityDocument`` (``CapacityResult.document``): ``to_json`` and
``from_json`` are the only places its keys are spelled, readers ignore unknown keys, and a file
read and written again is the same bytes. It holds the diagnosis, which is the CLI side's
(``diagnosis.figures``): that is why it is declared here, not beside the steps in ``shared/``.
``new_events`` and ``read_steps`` read what the load shape appended to ``capacity_steps.jsonl``
(``shared.capacity_step``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spendcast.loadtest.diagnosis.figures import Diagnosis
from spendcast.loadtest.run.result import RunResult
from spendcast.loadtest.shared.capacity_step import SearchEnded, StepEnded, StepEvent, step_event
from spendcast.loadtest.shared.search import SearchPlan

SCHEMA_VERSION = 1


def best_step(steps: Sequence[StepEnded]) -> StepEnded | None:
    """The step with the highest throughput among those that held the SLOs (a step where
    throughput stopped growing held them too: it is the saturated throughput)."""
    held = [s for s in steps if s.verdict != "breaks"]
    return max(held, key=lambda s: s.figures.rps) if held else None


def breaking_step(steps: Sequence[StepEnded]) -> StepEnded | None:
    """The lowest load that broke an SLO, or stopped adding throughput, above the best."""
    best = best_step(steps)
    floor = best.load if best else 0.0
    failed = [s for s in steps if s.verdict != "holds" and s.load > floor]
    return min(failed, key=lambda s: s.load) if failed else None


@dataclass(frozen=True)
class CapacityDocument:
    """``capacity.json``: the plan, where it ran, the answer, the best and breaking steps, the
    stop reason, every step, the diagnosis and the charts' file names."""

    plan: SearchPlan
    host: str
    scenario: str
    answer: str
    found: bool
    best: StepEnded | None
    breaking: StepEnded | None
    stop_reason: str
    steps: tuple[StepEnded, ...]
    diagnosis: Diagnosis | None = None
    plots: tuple[str, ...] = ()
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "plan": self.plan.to_json(),
            "host": self.host,
            "scenario": self.scenario,
            "answer": self.answer,
            "found": self.found,
            "best": None if self.best is None else self.best.to_json(),
            "breaking": None if self.breaking is None else self.breaking.to_json(),
            "stop_reason": self.stop_reason,
            "steps": [step.to_json() for step in self.steps],
            "diagnosis": None if self.diagnosis is None else self.diagnosis.to_json(),
            "files": {"plots": list(self.plots)},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CapacityDocument:
        best, breaking, diagnosis = data.get("best"), data.get("breaking"), data.get("diagnosis")
        return cls(
            plan=SearchPlan.from_json(data["plan"]),
            host=data["host"],
            scenario=data["scenario"],
            answer=data["answer"],
            found=data["found"],
            best=None if best is None else StepEnded.from_json(best),
            breaking=None if breaking is None else StepEnded.from_json(breaking),
            stop_reason=data["stop_reason"],
            steps=tuple(StepEnded.from_json(step) for step in data["steps"]),
            diagnosis=None if diagnosis is None else Diagnosis.from_json(diagnosis),
            plots=tuple(data.get("files", {}).get("plots", ())),
            schema_version=data.get("schema_version", SCHEMA_VERSION),
        )

    @classmethod
    def read(cls, path: Path) -> CapacityDocument:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class CapacityResult:
    """The search's steps (as ``capacity_steps.jsonl`` holds them) and its answer."""

    out_dir: Path
    plan: SearchPlan
    steps: tuple[StepEnded, ...]
    stop_reason: str
    run: RunResult
    diagnosis: Diagnosis | None = None

    @property
    def best(self) -> StepEnded | None:
        return best_step(self.steps)

    @property
    def breaking(self) -> StepEnded | None:
        return breaking_step(self.steps)

    @property
    def found(self) -> bool:
        return self.best is not None

    def answer(self) -> str:
        return answer(self.plan, self.best, self.breaking, self.stop_reason)

    def document(self, plots: Sequence[str] = ()) -> CapacityDocument:
        config = self.run.summary.config
        return CapacityDocument(
            plan=self.plan,
            host=config.host,
            scenario=config.scenario,
            answer=self.answer(),
            found=self.found,
            best=self.best,
            breaking=self.breaking,
            stop_reason=self.stop_reason,
            steps=self.steps,
            diagnosis=self.diagnosis,
            plots=tuple(plots),
        )


def load_label(plan: SearchPlan, load: float) -> str:
    return f"{int(load)} users" if plan.mode == "users" else f"{load:g} iterations/s offered"


def answer(plan: SearchPlan, best: StepEnded | None, breaking: StepEnded | None, stop: str) -> str:
    """``holds N req/s at p99 X ms with Y users; breaks at …`` in one sentence."""
    key = f"p{plan.key_percentile:g}"
    if best is None:
        first = breaking.reason if breaking else stop
        return f"breaks already at the first step ({load_label(plan, plan.start)}): {first}"
    latency = best.figures.latency_ms.percentile_ms(plan.key_percentile)
    users = best.generator.users
    text = f"holds {best.figures.rps:,.1f} req/s at {key} "
    text += f"{latency:,.1f} ms" if latency is not None else "–"
    if plan.mode == "users":
        text += f" with {users} users"
    else:
        text += f" with {best.load:g} iterations/s offered ({users} users)"
    if breaking is None:
        return f"{text}; {best.reason or stop}"
    return f"{text}; breaks at {load_label(plan, breaking.load)}: {breaking.reason}"


def new_events(path: Path, offset: int) -> tuple[list[StepEvent], int]:
    """The complete lines ``capacity_steps.jsonl`` gained since ``offset``, and the new offset
    (the file is appended to while it is read: a line without its newline waits)."""
    if not path.exists():
        return [], offset
    with path.open("rb") as file:
        file.seek(offset)
        chunk = file.read()
    end = chunk.rfind(b"\n") + 1
    read = [step_event(json.loads(line)) for line in chunk[:end].splitlines()]
    return [event for event in read if event is not None], offset + end


def read_steps(path: Path) -> tuple[tuple[StepEnded, ...], str | None]:
    """The ended steps in ``capacity_steps.jsonl`` and the search's stop reason, if it ended."""
    events, _ = new_events(path, 0)
    reasons = [event.reason for event in events if isinstance(event, SearchEnded)]
    return tuple(e for e in events if isinstance(e, StepEnded)), (reasons or [None])[-1]
