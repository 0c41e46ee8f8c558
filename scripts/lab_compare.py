"""``make compare``: the lab's before/after, the lab's starting point against spendcast.

1. baseline: ``examples/lab_baseline`` (model reloaded per request, pandas per call, a new
   database engine and insert per request) under uvicorn, one worker;
2. candidate: ``spendcast serve`` (model loaded once, validated fast path, batched inference
   log), with a fresh random token that the load sends as its cookie;
3. both started on free ports, each warmed up, then ``SPENDCAST_COMPARE_PAIRS`` (3) interleaved
   pairs of ``SPENDCAST_COMPARE_DURATION`` (10s) ``predict`` runs with
   ``SPENDCAST_COMPARE_USERS`` (10) users; about two minutes in all.

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
from datetime import UTC, datetime
from pathlib import Path

from spendcast.errors import SpendcastError
from spendcast.loadtest.compare.pairs import Side, compare_servers
from spendcast.loadtest.compare.report import write_comparison
from spendcast.loadtest.run.duration import parse_duration
from spendcast.loadtest.run.runner import RunConfig

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
    config = RunConfig(host="http://127.0.0.1", scenario="predict", users=users,
                       duration_s=duration, token=token)  # fmt: skip
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
    except SpendcastError as error:
        print(f"error: {error} (server logs in {out})", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    page = write_comparison(comparison, out)
    print()
    print((out / "comparison.md").read_text(encoding="utf-8").split("\n![")[0].rstrip())
    print(f"\nverdict: {comparison.verdict}")
    print(
        f"report: {page.relative_to(REPO)} (markdown: {(out / 'comparison.md').relative_to(REPO)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
