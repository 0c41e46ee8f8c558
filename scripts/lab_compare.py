"""``make compare``: the lab's before/after, the lab's starting point against spendcast.

1. baseline: ``examples/lab_baseline`` (model reloaded per request, pandas per call, a new
   database engine and insert per request) under uvicorn, one worker;
2. candidate: ``spendcast serve`` (model loaded once, validated fast path, batched inference
   log), with a fresh random token that the load sends as its cookie;
3. both started on free ports, each warmed up, then ``SPENDCAST_COMPARE_PAIRS`` (3) interleaved
   pairs of ``SPENDCAST_COMPARE_DURATION`` (10s) ``predict`` runs with
   ``SPENDCAST_COMPARE_USERS`` (10) users; about two minutes in all;
4. then a short capacity search of each (steps of 1-s windows, a loose ``p99<2s``), each
   diagnosed (docs/diagnosis.md): the bottleneck, the function that costs, what to try, beside
   the before/after in the page and the markdown; about another minute and a half.

Writes ``runs/<UTC timestamp>-lab-compare/`` (comparison.md, index.html, charts) and prints the
verdict. Each server keeps its database, model and logs in a temporary directory. Run from the
repository root after ``spendcast train --if-missing`` (the Makefile does both).
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from spendcast.errors import SpendcastError
from spendcast.loadtest.capacity.result import CapacityResult
from spendcast.loadtest.capacity.runner import run_capacity
from spendcast.loadtest.compare.pairs import Side, compare_servers
from spendcast.loadtest.compare.report import write_comparison
from spendcast.loadtest.diagnosis.display import diagnosis_view
from spendcast.loadtest.diagnosis.watcher import find_server
from spendcast.loadtest.report.html import write_report
from spendcast.loadtest.run.config import RunConfig
from spendcast.loadtest.run.load import ClosedLoad
from spendcast.loadtest.run.output import Output
from spendcast.loadtest.run.server_process import started_server
from spendcast.loadtest.run.target import Target
from spendcast.loadtest.run.users import Users
from spendcast.loadtest.shared.duration import parse_duration
from spendcast.loadtest.shared.search import SearchPlan

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    pairs = int(os.environ.get("SPENDCAST_COMPARE_PAIRS", "3"))
    duration = parse_duration(os.environ.get("SPENDCAST_COMPARE_DURATION", "10s"))
    users = int(os.environ.get("SPENDCAST_COMPARE_USERS", "10"))
    model_dir = Path(os.environ.get("SPENDCAST_MODEL_DIR", REPO / "models")).resolve()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = REPO / "runs" / f"{stamp}-lab-compare"
    work = Path(tempfile.mkdtemp(prefix="spendcast-lab-compare-"))
    token = secrets.token_urlsafe(24)
    python = sys.executable
    baseline = Side(
        "lab baseline",
        f"{python} -m uvicorn examples.lab_baseline.app:app --host 127.0.0.1 --port {{port}} "
        "--log-level warning",
        env={
            "LAB_BASELINE_DATABASE_URL": f"sqlite:///{work / 'lab_baseline.db'}",
            "LAB_BASELINE_MODEL": str(work / "lab_baseline_model.joblib"),
        },
    )
    candidate = Side(
        "spendcast",
        f"{python} -m spendcast serve --host 127.0.0.1 --port {{port}} --log-level warning",
        env={
            "SPENDCAST_API_TOKEN": token,
            "SPENDCAST_MODEL_DIR": str(model_dir),
            "SPENDCAST_DATABASE_URL": f"sqlite:///{work / 'spendcast.db'}",
            "SPENDCAST_LOG_FILE": str(work / "api_logfile.log"),
            "SPENDCAST_JOURNAL_DIR": str(work / "journal"),
        },
    )
    config = RunConfig(Target("http://127.0.0.1", token=token), Users("predict"),
                       ClosedLoad(users, duration_s=duration))  # fmt: skip
    print(f"lab baseline vs spendcast: {pairs} pairs of {duration}s runs, {users} users each; "
          f"report in {out.relative_to(REPO)}", flush=True)  # fmt: skip

    def progress(side: str, pair: int, result: object) -> None:
        if result is None:
            print(f"  pair {pair}/{pairs}: {side}…", flush=True)

    try:
        comparison = compare_servers(
            baseline, candidate, config, out, pairs=pairs, warmup_s=3, cwd=REPO,
            on_run=progress,
        )  # fmt: skip
        write_comparison(comparison, out)
        print()
        print((out / "comparison.md").read_text(encoding="utf-8").split("\n![")[0].rstrip())
        print(f"\nverdict: {comparison.verdict}")
        sides = (("baseline", baseline), ("candidate", candidate))
        searches = [diagnose(side, config, out / f"diagnosis-{name}") for name, side in sides]
    except SpendcastError as error:
        print(f"error: {error} (server logs in {out})", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    page = write_report([out, *(s.out_dir for s in searches)], out / "index.html")
    with (out / "comparison.md").open("a", encoding="utf-8") as markdown:
        for side, search in zip((baseline, candidate), searches, strict=True):
            markdown.write(diagnosis_markdown(side.label, search))
    print(
        f"report: {page.relative_to(REPO)} (markdown: {(out / 'comparison.md').relative_to(REPO)})"
    )
    return 0


def diagnose(side: Side, config: RunConfig, out: Path) -> CapacityResult:
    """A short capacity search of ``side``'s server, diagnosed, its output printed."""
    from rich.console import Console

    assert side.command is not None
    print(f"\ndiagnosing {side.label} (a short capacity search)…", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    plan = SearchPlan(slos=("p99<2s", "errors<1%"), window_s=1, max_step_s=10, max_steps=8)
    with (
        (out / "server.log").open("wb") as log,
        started_server(side.command, cwd=REPO, env=side.env, output=log) as server,
    ):
        base = replace(config, target=replace(config.target, host=server.url),
                       output=Output(out))  # fmt: skip
        target = find_server(server.url, server.process.pid)
        result = run_capacity(base, plan, server=target, sample_s=5)
    print(f"{side.label}: {result.answer()}")
    if result.diagnosis is not None:
        Console(highlight=False, width=130).print(diagnosis_view(result.diagnosis))
    return result


def diagnosis_markdown(label: str, search: CapacityResult) -> str:
    found = search.diagnosis
    if found is None:
        return ""
    lines = [f"\n## Diagnosis: {label}\n", f"{search.answer()}\n",
             f"**{found.bottleneck}** (confidence {found.confidence})\n"]  # fmt: skip
    lines += [f"- {line}" for line in found.evidence]
    lines += [f"- **try**: {line}" for line in found.what_to_try]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
