"""``RunRecord``: one finished run as the store keeps it, read from its run directory.

A directory is a comparison (``comparison.json``), a capacity search (``capacity.json``) or a
load test (``summary.json``), as ``report`` tells them apart. Its figures per endpoint become
``Figures`` rows: ``total`` and each ``METHOD name`` of a run (a capacity search adds
``capacity``: the best step's figures, its knee), ``baseline`` and ``candidate`` of a
comparison. ``uid`` is the sha256 of the document: the same directory is stored once.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from spendcast.loadtest.history.key import (
    SHOWN,
    capacity_inputs,
    comparability_key,
    compare_inputs,
    run_inputs,
)
from spendcast.loadtest.history.metadata import RunMetadata
from spendcast.loadtest.history.schema import PERCENTILES
from spendcast.loadtest.shared.contract import CAPACITY_FILE, COMPARISON_FILE, SUMMARY_FILE
from spendcast.loadtest.shared.run_settings import RunSettings
from spendcast.loadtest.shared.run_summary import Summary
from spendcast.loadtest.shared.summary_figures import Figures as RunFigures

TOTAL: Final = "total"
CAPACITY_ROW: Final = "capacity"
# Metric names people type -> the ``Figures`` field.
METRICS: Final = {"rps": "rps", "requests": "requests", "failures": "failures",
                  "errors": "error_rate", "error_rate": "error_rate",
                  **{name: name for name in PERCENTILES}, "p99.9": "p99_9"}  # fmt: skip


@dataclass(frozen=True)
class Figures:
    """One endpoint's figures in a run (latency in ms)."""

    endpoint: str
    requests: int | None = None
    failures: int | None = None
    error_rate: float | None = None
    rps: float | None = None
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    p99_9: float | None = None
    max: float | None = None

    @classmethod
    def of(cls, endpoint: str, figures: Mapping[str, Any]) -> Figures:
        """From a summary's (or a capacity step's) figures."""
        latency = figures.get("latency_ms", {})
        return cls(endpoint, figures.get("requests"), figures.get("failures"),
                   finite(figures.get("error_rate")), finite(figures.get("rps")),
                   *(finite(latency.get(name)) for name in PERCENTILES))  # fmt: skip

    @classmethod
    def of_run(cls, endpoint: str, figures: RunFigures) -> Figures:
        """From a ``summary.json``'s figures (the total's or an endpoint's)."""
        return cls.of(endpoint, figures.to_json())

    def value(self, metric: str) -> float | None:
        found = getattr(self, METRICS[metric])
        return None if found is None else float(found)

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class RunRecord:
    """A run in the store (``id`` once stored; ``blessed``: the baseline of its key)."""

    uid: str
    kind: str
    document: str
    key: str
    key_inputs: Mapping[str, Any]
    started_at: str
    run_dir: str
    scenario: str | None
    host: str | None
    passed: bool | None
    verdict: str
    meta: RunMetadata
    summary: Mapping[str, Any]
    figures: tuple[Figures, ...] = ()
    id: int | None = None
    blessed: bool = False

    @property
    def short_key(self) -> str:
        return self.key[:SHOWN]

    @property
    def config(self) -> RunSettings:
        """What was asked: the run's ``config`` (a comparison's: its runs' shared settings)."""
        return RunSettings.from_json(self.summary.get("config") or {})

    def figure(self, endpoint: str = TOTAL) -> Figures | None:
        return next((f for f in self.figures if f.endpoint == endpoint), None)

    def to_json(self, *, with_summary: bool = False) -> dict[str, Any]:
        data = {
            "id": self.id, "uid": self.uid, "kind": self.kind, "document": self.document,
            "key": self.key, "key_inputs": dict(self.key_inputs), "started_at": self.started_at,
            "run_dir": self.run_dir, "scenario": self.scenario, "host": self.host,
            "passed": self.passed, "verdict": self.verdict, "blessed": self.blessed,
            "metadata": self.meta.to_json(), "figures": [f.to_json() for f in self.figures],
        }  # fmt: skip
        if with_summary:
            data["summary"] = dict(self.summary)
        return data


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinity turned into ``None`` (JSON and SQL have neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


DOCUMENTS: Final = ((COMPARISON_FILE, "compare"), (CAPACITY_FILE, "capacity"),
                    (SUMMARY_FILE, "run"))  # fmt: skip


def document_kind(run_dir: Path) -> str | None:
    """``compare``, ``capacity`` or ``run``: what the directory holds (``None``: no run)."""
    return next((kind for name, kind in DOCUMENTS if (run_dir / name).exists()), None)


def document_uid(run_dir: Path) -> str | None:
    """The ``uid`` of the run the directory holds now (a CI job rewrites ``run/`` each time)."""
    name = next((name for name, _ in DOCUMENTS if (run_dir / name).exists()), None)
    try:
        return None if name is None else _uid(run_dir / name)
    except OSError:
        return None


def _json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _uid(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_record(run_dir: Path, meta: RunMetadata) -> RunRecord:
    """The record of ``run_dir``; ``ValueError`` when it holds no run (or a broken one)."""
    run_dir = run_dir.resolve()
    document = document_kind(run_dir)
    try:
        if document == "compare":
            return _comparison(run_dir, meta)
        if document == "capacity":
            return _capacity(run_dir, meta)
        if document == "run":
            return _run(run_dir, meta)
    except (KeyError, TypeError, ValueError) as error:
        reason = f"{type(error).__name__}: {error}"
        raise ValueError(f"{run_dir}: an unreadable run ({reason})") from error
    raise ValueError(f"{run_dir}: no summary.json, capacity.json or comparison.json: not a run")


def _endpoint_figures(summary: Summary) -> list[Figures]:
    rows = [Figures.of_run(TOTAL, summary.total)]
    rows += [Figures.of_run(e.label, e.figures) for e in summary.endpoints]
    return rows


def _verdict(summary: Summary) -> str:
    slos = summary.slos
    if summary.aborted:
        return "aborted (--abort-on-fail)"
    if not slos:
        return "no SLO"
    failed = [s.slo.expression for s in slos if not s.passed]
    if failed:
        return f"{len(failed)} of {len(slos)} SLOs failed: {', '.join(failed)}"
    return f"every SLO held ({len(slos)})"


def _run(run_dir: Path, meta: RunMetadata) -> RunRecord:
    data = _json(run_dir / SUMMARY_FILE)
    summary = Summary.from_json(data)
    config = summary.config
    inputs = run_inputs(config, meta.machine, meta.warmup_s)
    return RunRecord(
        uid=_uid(run_dir / SUMMARY_FILE), kind=meta.kind, document="run",
        key=comparability_key(inputs), key_inputs=inputs, started_at=summary.timestamp,
        run_dir=str(run_dir), scenario=config.scenario, host=config.host,
        passed=summary.passed, verdict=_verdict(summary), meta=meta,
        summary=data, figures=tuple(_endpoint_figures(summary)),
    )  # fmt: skip


def _capacity(run_dir: Path, meta: RunMetadata) -> RunRecord:
    capacity = _json(run_dir / CAPACITY_FILE)
    data = _json(run_dir / SUMMARY_FILE)
    summary = Summary.from_json(data)
    inputs = capacity_inputs(capacity, summary.config, meta.machine)
    rows = _endpoint_figures(summary)
    if capacity.get("best"):
        rows.append(Figures.of(CAPACITY_ROW, capacity["best"]["figures"]))
    return RunRecord(
        uid=_uid(run_dir / CAPACITY_FILE), kind=meta.kind, document="capacity",
        key=comparability_key(inputs), key_inputs=inputs, started_at=summary.timestamp,
        run_dir=str(run_dir), scenario=capacity.get("scenario"), host=capacity.get("host"),
        passed=bool(capacity["found"]), verdict=capacity["answer"], meta=meta,
        summary={**data, "capacity": capacity}, figures=tuple(rows),
    )  # fmt: skip


def _comparison(run_dir: Path, meta: RunMetadata) -> RunRecord:
    path = run_dir / COMPARISON_FILE
    comparison = _json(path)
    inputs = compare_inputs(comparison, meta.machine)
    values: dict[str, dict[str, Any]] = {"baseline": {}, "candidate": {}}
    for figure in comparison["figures"]:
        name = "error_rate" if figure["name"] == "errors" else figure["name"]
        for side in values:
            values[side][name] = figure[side]
    rows = tuple(Figures(side, **{k: finite(v) for k, v in found.items()
                                  if k in Figures.__dataclass_fields__})
                 for side, found in values.items())  # fmt: skip
    written = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    config = comparison.get("config", {})
    scenario = config.get("scenario") or (
        f"{comparison['candidate']['label']} vs {comparison['baseline']['label']}"
    )
    return RunRecord(
        uid=_uid(path), kind=meta.kind, document="compare", key=comparability_key(inputs),
        key_inputs=inputs, started_at=written.isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"), run_dir=str(run_dir), scenario=scenario,
        host=config.get("host"), passed=None, verdict=comparison["verdict"], meta=meta,
        summary=comparison, figures=rows,
    )  # fmt: skip
