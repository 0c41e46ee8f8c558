"""``CapacityResult``: a capacity search's steps and its answer, in one sentence and as JSON.

``capacity.json`` is ``to_json()``; ``read_steps`` reads the steps the load shape appended to
``capacity_steps.jsonl`` as they ended.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spendcast.loadtest.diagnosis.figures import Diagnosis
from spendcast.loadtest.run.result import RunResult
from spendcast.loadtest.shared.latency import percentile_key
from spendcast.loadtest.shared.search import SearchPlan


@dataclass(frozen=True)
class CapacityResult:
    """The search's steps (as ``capacity_steps.jsonl`` holds them) and its answer."""

    out_dir: Path
    plan: SearchPlan
    steps: list[dict[str, Any]]
    stop_reason: str
    run: RunResult
    diagnosis: Diagnosis | None = None

    @property
    def best(self) -> dict[str, Any] | None:
        """The step with the highest throughput among those that held the SLOs (a step where
        throughput stopped growing held them too: it is the saturated throughput)."""
        held = [s for s in self.steps if s["verdict"] != "breaks"]
        return max(held, key=lambda s: s["figures"]["rps"]) if held else None

    @property
    def breaking(self) -> dict[str, Any] | None:
        """The lowest load that broke an SLO, or stopped adding throughput, above the best."""
        best = self.best
        floor = best["load"] if best else 0.0
        failed = [s for s in self.steps if s["verdict"] != "holds" and s["load"] > floor]
        return min(failed, key=lambda s: s["load"]) if failed else None

    @property
    def found(self) -> bool:
        return self.best is not None

    def answer(self) -> str:
        return answer(self.plan, self.best, self.breaking, self.stop_reason)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "plan": self.plan.to_json(),
            "host": self.run.summary.config.host,
            "scenario": self.run.summary.config.scenario,
            "answer": self.answer(),
            "found": self.found,
            "best": self.best,
            "breaking": self.breaking,
            "stop_reason": self.stop_reason,
            "steps": self.steps,
            "diagnosis": None if self.diagnosis is None else self.diagnosis.to_json(),
        }


def load_label(plan: SearchPlan, load: float) -> str:
    return f"{int(load)} users" if plan.mode == "users" else f"{load:g} iterations/s offered"


def answer(
    plan: SearchPlan, best: dict[str, Any] | None, breaking: dict[str, Any] | None, stop: str
) -> str:
    """``holds N req/s at p99 X ms with Y users; breaks at …`` in one sentence."""
    key = f"p{plan.key_percentile:g}"
    if best is None:
        first = breaking["reason"] if breaking else stop
        return f"breaks already at the first step ({load_label(plan, plan.start)}): {first}"
    latency = best["figures"]["latency_ms"].get(percentile_key(plan.key_percentile))
    users = best["generator"]["users"]
    text = f"holds {best['figures']['rps']:,.1f} req/s at {key} "
    text += f"{latency:,.1f} ms" if latency is not None else "–"
    if plan.mode == "users":
        text += f" with {users} users"
    else:
        text += f" with {best['load']:g} iterations/s offered ({users} users)"
    if breaking is None:
        return f"{text}; {best['reason'] or stop}"
    return f"{text}; breaks at {load_label(plan, breaking['load'])}: {breaking['reason']}"


def new_events(path: Path, offset: int) -> tuple[list[dict[str, Any]], int]:
    """The complete lines ``capacity_steps.jsonl`` gained since ``offset``, and the new offset
    (the file is appended to while it is read: a line without its newline waits)."""
    if not path.exists():
        return [], offset
    with path.open("rb") as file:
        file.seek(offset)
        chunk = file.read()
    end = chunk.rfind(b"\n") + 1
    return [json.loads(line) for line in chunk[:end].splitlines()], offset + end


def read_steps(path: Path) -> tuple[list[dict[str, Any]], str | None]:
    """The ended steps in ``capacity_steps.jsonl`` and the search's stop reason, if it ended."""
    if not path.exists():
        return [], None
    steps, reason = [], None
    for line in path.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if event["event"] == "end":
            steps.append(event)
        elif event["event"] == "done":
            reason = event["reason"]
    return steps, reason
