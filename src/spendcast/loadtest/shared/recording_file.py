"""``recording.json``, the file a run's recording is written to and read back from.

The master writes it when Locust quits (``Recording.write``; ``contract.RECORDING_FILE``)::

    {"schema_version": 1, "unit": "us", "started_at": <epoch s>, "stopped_at": <epoch s>,
     "endpoints": {"GET /predict": {"method": "GET", "name": "/predict", "requests": n,
                                    "failures": n, "histogram": "<HDR base64>"}, ...},
     "seconds": {"<epoch second>": {"requests": n, "failures": n, "histogram": "<HDR base64>"}},
     "users": {"<epoch second>": n},
     "workers": ["<Locust client id>", ...],  # distributed runs: workers that handed over
     "arrivals": {"<epoch second>": {"started": n, "late": n, "dropped": n}},  # open model
     "plan_started_at": <epoch s> | null,  # time 0 of the load plan's stages
     "warmup": {"until": <epoch second>, "endpoints": {...}} | null,  # --warmup
     "uncorrected": {"GET /predict": {...}, ...}}  # open model: timed from the actual send

Arrivals are keyed by the second an iteration was due (its intended start), requests by the
second they ended. With ``--warmup`` the requests that ended before ``warmup_until`` (a whole
epoch second) are tallied apart, in ``warmup_endpoints``: sent, kept in the per-second tallies
(the plots shade them), left out of every figure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from spendcast.loadtest.shared.tally import Arrivals, Tally

SCHEMA_VERSION: Final = 1


def encoded_endpoints(endpoints: dict[str, Tally]) -> dict[str, Any]:
    encoded: dict[str, Any] = {}
    for key, tally in sorted(endpoints.items()):
        method, _, name = key.partition(" ")
        encoded[key] = {"method": method, "name": name, **tally.to_json()}
    return encoded


def _decoded(encoded: dict[str, Any]) -> dict[tuple[str, str], Tally]:
    return {(str(e["method"]), str(e["name"])): Tally.from_json(e) for e in encoded.values()}


@dataclass(frozen=True)
class LoadedRecording:
    """A ``recording.json`` read back: decoded tallies keyed as written."""

    started_at: float
    stopped_at: float
    endpoints: dict[tuple[str, str], Tally]  # (method, name) -> tally
    seconds: dict[int, Tally]
    users: dict[int, int]
    arrivals: dict[int, Arrivals] = field(default_factory=dict)  # open model, by second due
    plan_started_at: float | None = None
    warmup_until: float | None = None  # --warmup: the measured window's start (epoch s)
    warmup_endpoints: dict[tuple[str, str], Tally] = field(default_factory=dict)
    uncorrected: dict[tuple[str, str], Tally] = field(default_factory=dict)  # open model

    @property
    def window_start(self) -> float:
        """Where the figures start: after the warm-up, if any."""
        if self.warmup_until is None:
            return self.started_at
        return min(max(self.started_at, self.warmup_until), self.stopped_at)


def read_recording(path: Path) -> LoadedRecording:
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"{path}: unsupported schema_version {data.get('schema_version')!r}")
    endpoints = _decoded(data["endpoints"])
    seconds = {int(s): Tally.from_json(t) for s, t in data["seconds"].items()}
    users = {int(s): int(n) for s, n in data["users"].items()}
    started = data["started_at"]
    stopped = data["stopped_at"]
    if started is None:
        started = min([*seconds, *users], default=0)
    if stopped is None:
        stopped = max([s + 1 for s in [*seconds, *users]], default=started)
    arrivals = {int(s): Arrivals.from_json(a) for s, a in data.get("arrivals", {}).items()}
    plan_start = data.get("plan_started_at")
    warmup = data.get("warmup") or {}
    return LoadedRecording(
        float(started), float(stopped), endpoints, seconds, users, arrivals,
        None if plan_start is None else float(plan_start),
        None if "until" not in warmup else float(warmup["until"]),
        _decoded(warmup.get("endpoints", {})),
        _decoded(data.get("uncorrected", {})),
    )  # fmt: skip
