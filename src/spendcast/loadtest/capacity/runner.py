"""``run_capacity``: the highest load an API holds within its SLOs, as one run directory.

One Locust run with the ``CapacityShape`` (``shapes``, in the shape locustfile appended after
the users': the kit's scenarios or the user's own locustfile) stepping the load as the
``CapacitySearch`` (``search``) decides; the run directory holds everything a load test writes
(``summary.json``, ``recording.json``, plots), ``capacity_steps.jsonl`` (each step as it ended),
``capacity.json`` (the steps, the answer) and two charts: throughput against the offered load,
and latency percentiles against throughput, where the knee shows. See docs/capacity.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

from spendcast.loadtest.capacity.result import CapacityResult, read_steps
from spendcast.loadtest.diagnosis.joined import capacity_diagnosis
from spendcast.loadtest.diagnosis.sampling import parked_stacks
from spendcast.loadtest.diagnosis.watcher import ServerTarget, Watcher
from spendcast.loadtest.run.config import RunConfig
from spendcast.loadtest.run.distributed import MasterOptions
from spendcast.loadtest.run.gates import Gates
from spendcast.loadtest.run.generators import Generators, LocalProcesses
from spendcast.loadtest.run.load import SteppedLoad
from spendcast.loadtest.run.runner import run_load
from spendcast.loadtest.run.users import Users
from spendcast.loadtest.shared.contract import (
    CAPACITY_FILE,
    CAPACITY_LOCUSTFILE,
    PLAN_ENV,
    STEPS_FILE,
)
from spendcast.loadtest.shared.progress import Progress
from spendcast.loadtest.shared.run_files import default_out_dir
from spendcast.loadtest.shared.search import SearchPlan


def refusal(users: Users, plan: SearchPlan, generators: Generators) -> str | None:
    """Why ``users`` cannot be searched (by ``generators``), or ``None``."""
    if isinstance(generators, MasterOptions) and plan.mode == "rate":
        return ("--mode rate keeps its timetable in one process: a --master's workers step "
                "users (--mode users)")  # fmt: skip
    user_file = users.file
    if user_file is None:
        return None
    if user_file.shapes:
        return (f"{user_file.given} defines a load shape ({', '.join(user_file.shapes)}): "
                "capacity steps the load itself")  # fmt: skip
    return None  # either mode: rate mode puts any user class on the timetable (arrival)


def capacity_config(base: RunConfig, plan: SearchPlan) -> RunConfig:
    """``base`` (host, scenario or user's locustfile, auth, out_dir) turned into the capacity
    search's run."""
    reason = refusal(base.users, plan, base.generators)
    if reason is not None:
        raise ValueError(reason)
    load = SteppedLoad(CAPACITY_LOCUSTFILE, max(int(plan.start), 1), plan.max_duration_s(),
                       {PLAN_ENV: json.dumps(plan.to_json())})  # fmt: skip
    out_dir = base.output.out_dir or default_out_dir(f"capacity-{plan.mode}")
    return replace(
        base,
        load=load,
        generators=base.generators
        if isinstance(base.generators, MasterOptions)
        else LocalProcesses(),
        gates=Gates(plan.parsed_slos()),
        output=replace(base.output, out_dir=out_dir),
    )


def run_capacity(
    base: RunConfig,
    plan: SearchPlan,
    on_progress: Callable[[Progress], None] | None = None,
    server: ServerTarget | None = None,
    sample_s: int = 0,
) -> CapacityResult:
    """Run the search while ``server`` (default: not observable) and the load generator are
    watched, then diagnose; py-spy samples a local Python server for ``sample_s`` seconds at
    the knee (0: not), after a second's sample before the load (the stacks idle then are
    background threads, not waiting requests). ``LoadTestError`` when the run itself fails."""
    server = server or ServerTarget()
    if server.python and sample_s:
        plan = replace(plan, knee_s=sample_s)
    config = capacity_config(base, plan)
    assert config.output.out_dir is not None
    steps_path = config.output.out_dir.resolve() / STEPS_FILE
    steps_path.unlink(missing_ok=True)
    parked = parked_stacks(server.pids[0]) if plan.knee_s else frozenset()
    with Watcher(server, steps_path, parked) as watcher:
        run = run_load(config, on_progress)
    steps, reason = read_steps(run.out_dir / STEPS_FILE)
    diagnosis = capacity_diagnosis(steps, plan.mode, watcher)
    result = CapacityResult(run.out_dir, plan, steps, reason or "the run ended", run, diagnosis)
    write_capacity(result)
    return result


def write_capacity(result: CapacityResult) -> None:
    from spendcast.loadtest.capacity.plots import write_capacity_plots  # matplotlib

    document = result.document(plots=[path.name for path in write_capacity_plots(result)])
    text = json.dumps(document.to_json(), indent=2) + "\n"
    (result.out_dir / CAPACITY_FILE).write_text(text, encoding="utf-8")
