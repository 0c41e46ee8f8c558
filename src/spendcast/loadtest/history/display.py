"""The history as text: the runs as a table, one run in detail, a trend's points."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from spendcast.loadtest.history.record import Figures, RunRecord

_RUN_COLUMNS = ("run", "started (UTC)", "kind", "key", "scenario", "host", "commit", "req/s",
                "p50 ms", "p99 ms", "errors", "verdict")  # fmt: skip


def _number(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _commit(run: RunRecord) -> str:
    commit = run.meta.git_commit
    return "–" if commit is None else commit[:8] + ("*" if run.meta.git_dirty else "")


def _columns(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
             .rstrip() for row in [headers, *rows]]  # fmt: skip
    return "\n".join(lines)


def _main_figures(run: RunRecord) -> Figures:
    return run.figure("candidate" if run.document == "compare" else "total") or Figures("total")


def runs_table(runs: Sequence[RunRecord]) -> str:
    rows = []
    for run in runs:
        total = _main_figures(run)
        errors = "–" if total.error_rate is None else f"{total.error_rate * 100:.2g} %"
        mark = "*" if run.blessed else ""
        rows.append([f"#{run.id}{mark}", run.started_at[:19].replace("T", " "), run.kind,
                     run.short_key, run.scenario or "–", run.host or "–", _commit(run),
                     _number(total.rps, 1), _number(total.p50), _number(total.p99), errors,
                     run.verdict])  # fmt: skip
    note = "\n(* the blessed baseline of its key)" if any(r.blessed for r in runs) else ""
    return _columns(_RUN_COLUMNS, rows) + note


def _locustfile(run: RunRecord) -> str | None:
    locustfile = run.config.locustfile
    if not locustfile:
        return None
    hashes = ", ".join(f"sha256 {(f.sha256 or '')[:12]}" for f in locustfile.files)
    return f"{locustfile.path} ({hashes})"


def _load(load: Any) -> str | None:
    """The load as its non-empty settings: ``users=2 spawn_rate=2.0 duration_s=3``."""
    if not isinstance(load, Mapping):
        return None
    return " ".join(f"{k}={json.dumps(v) if isinstance(v, dict | list) else v}"
                    for k, v in load.items() if v not in (None, [], {}))  # fmt: skip


def run_details(run: RunRecord) -> str:
    meta = run.meta
    facts: list[tuple[str, Any]] = [
        ("run", f"#{run.id}" + (" (the baseline of its key)" if run.blessed else "")),
        ("kind", f"{run.kind} ({run.document})"),
        ("started", run.started_at),
        ("directory", run.run_dir),
        ("key", run.key),
        ("scenario", run.scenario),
        ("locustfile", _locustfile(run)),
        ("user classes", ", ".join(run.key_inputs.get("users", {}).get("user_classes", []))),
        ("load", _load(run.key_inputs.get("load"))),
        ("host", run.host),
        ("command", meta.command),
        ("git", _commit(run) if meta.git_commit else None),
        ("model version", meta.model_version),
        ("machine", f"{meta.machine.cpu_model}, {meta.machine.cores} cores"),
        ("kit version", meta.kit_version),
        ("warm-up", None if meta.warmup_s is None else f"{meta.warmup_s:g} s"),
        ("imported", "yes (metadata gathered later)" if meta.imported else None),
        ("verdict", run.verdict),
    ]
    lines = [f"{name + ':':15}{value}" for name, value in facts if value not in (None, "")]
    headers = ("endpoint", "requests", "failures", "req/s", "p50", "p90", "p95", "p99",
               "p99.9", "max")  # fmt: skip
    rows = [[f.endpoint, _number(f.requests, 0), _number(f.failures, 0), _number(f.rps, 1),
             *(_number(getattr(f, n)) for n in ("p50", "p90", "p95", "p99", "p99_9", "max"))]
            for f in run.figures]  # fmt: skip
    return "\n".join(lines) + "\n\n" + _columns(headers, rows) + "\n(latency in ms)"


def trend_table(data: Mapping[str, Any]) -> str:
    rows = [[f"#{p['run_id']}" + ("*" if p["blessed"] else ""), p["started_at"][:19]
             .replace("T", " "), p["commit_label"], _number(p["value"], 3)]
            for p in data["points"]]  # fmt: skip
    title = (f"{data['metric']} of {data['endpoint']}, key {data['key'][:12]} "
             f"({data['scenario']} on {data['host']})")  # fmt: skip
    return title + "\n" + _columns(("run", "started (UTC)", "commit", data["metric"]), rows)
