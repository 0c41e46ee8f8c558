"""``run_capacity``: the highest load an API holds within its SLOs, as one run directory.

One Locust run with the ``CapacityShape`` (``shapes``) stepping the load as the
``CapacitySearch`` (``search``) decides; the run directory holds everything a load test writes
(``summary.json``, ``recording.json``, plots), ``capacity_steps.jsonl`` (each step as it ended),
``capacity.json`` (the steps, the answer) and two charts: throughput against the offered load,
and latency percentiles against throughput, where the knee shows. See docs/capacity.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from spendcast.loadtest.runner import Progress, RunConfig, RunResult, default_out_dir, run_load
from spendcast.loadtest.search import SearchPlan

CAPACITY_FILE: Final = "capacity.json"
STEPS_FILE: Final = "capacity_steps.jsonl"  # shapes.STEPS_FILE (shapes imports Locust)
PLAN_ENV: Final = "SPENDCAST_CAPACITY_PLAN"
LOCUSTFILE: Final = Path(__file__).parent / "locustfiles" / "capacity_search.py"
OPEN_USERS: Final = {
    "health": "OpenHealthUser",
    "predict": "OpenPredictUser",
    "batch": "OpenBatchPredictUser",
    "mixed": "OpenMixedUser",
}


@dataclass(frozen=True)
class CapacityResult:
    """The search's steps (as ``capacity_steps.jsonl`` holds them) and its answer."""

    out_dir: Path
    plan: SearchPlan
    steps: list[dict[str, Any]]
    stop_reason: str
    run: RunResult

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
            "host": self.run.summary["config"]["host"],
            "scenario": self.run.summary["config"]["scenario"],
            "answer": self.answer(),
            "found": self.found,
            "best": self.best,
            "breaking": self.breaking,
            "stop_reason": self.stop_reason,
            "steps": self.steps,
        }


def load_label(plan: SearchPlan, load: float) -> str:
    return f"{int(load)} users" if plan.mode == "users" else f"{load:g} req/s offered"


def answer(
    plan: SearchPlan, best: dict[str, Any] | None, breaking: dict[str, Any] | None, stop: str
) -> str:
    """``holds N req/s at p99 X ms with Y users; breaks at …`` in one sentence."""
    key = f"p{plan.key_percentile:g}"
    if best is None:
        first = breaking["reason"] if breaking else stop
        return f"breaks already at the first step ({load_label(plan, plan.start)}): {first}"
    latency = best["figures"]["latency_ms"].get(key.replace(".", "_"))
    users = best["generator"]["users"]
    text = f"holds {best['figures']['rps']:,.1f} req/s at {key} "
    text += f"{latency:,.1f} ms" if latency is not None else "–"
    if plan.mode == "users":
        text += f" with {users} users"
    else:
        text += f" with {best['load']:g} req/s offered ({users} users)"
    if breaking is None:
        return f"{text}; {best['reason'] or stop}"
    return f"{text}; breaks at {load_label(plan, breaking['load'])}: {breaking['reason']}"


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


def capacity_config(base: RunConfig, plan: SearchPlan) -> RunConfig:
    """``base`` (host, scenario, auth, out_dir) turned into the capacity search's run."""
    user_class = OPEN_USERS[base.scenario] if plan.mode == "rate" else None
    return replace(
        base,
        users=max(int(plan.start), 1),
        duration_s=plan.max_duration_s(),
        processes=None,
        slos=plan.parsed_slos(),
        out_dir=base.out_dir or default_out_dir(f"capacity-{plan.mode}"),
        locustfile=LOCUSTFILE,
        user_class=user_class,
        extra_env={**base.extra_env, PLAN_ENV: json.dumps(plan.to_json())},
    )


def run_capacity(
    base: RunConfig, plan: SearchPlan, on_progress: Callable[[Progress], None] | None = None
) -> CapacityResult:
    """Run the search; ``LoadTestError`` when the run itself fails."""
    config = capacity_config(base, plan)
    assert config.out_dir is not None
    (config.out_dir.resolve() / STEPS_FILE).unlink(missing_ok=True)
    run = run_load(config, on_progress)
    steps, reason = read_steps(run.out_dir / STEPS_FILE)
    result = CapacityResult(run.out_dir, plan, steps, reason or "the run ended", run)
    write_capacity(result)
    return result


def write_capacity(result: CapacityResult) -> None:
    from spendcast.loadtest.capacity_plots import write_capacity_plots  # matplotlib

    data = result.to_json()
    data["files"] = {"plots": [p.name for p in write_capacity_plots(result)]}
    text = json.dumps(data, indent=2) + "\n"
    (result.out_dir / CAPACITY_FILE).write_text(text, encoding="utf-8")
