"""The comparability key: a hash of what must be equal for two runs to be compared.

Two runs are like for like when they sent the same users (the built-in scenario, or the
content of the locustfiles, their user classes and tags), the same load (users and spawn
rate, or the open model's plan; duration, think time, generator processes), after the same
warm-up, to the same host, from the same kind of machine (CPU model and cores). The inputs are
kept beside the key, so that two keys that differ say why (``differences``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Final

from spendcast.loadtest.history.metadata import Machine
from spendcast.loadtest.shared.run_settings import RunSettings

SHOWN: Final = 12  # hex digits of the key printed; any unique prefix selects it
LOAD_FIELDS: Final = ("users", "spawn_rate", "duration_s", "load_plan", "think_time", "processes",
                      "workers")  # fmt: skip


def comparability_key(inputs: Mapping[str, Any]) -> str:
    canonical = json.dumps(inputs, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def users_of(config: RunSettings) -> dict[str, Any]:
    """What runs: the scenario's name, or the locustfiles' content (sha256), never a path."""
    locustfile = config.locustfile
    return {
        "scenario": None if locustfile else config.scenario or None,
        "files": [f.sha256 for f in locustfile.files] if locustfile else [],
        "user_classes": list(config.user_classes),
        "tags": sorted(config.tags),
        "exclude_tags": sorted(config.exclude_tags),
    }


def run_inputs(config: RunSettings, machine: Machine, warmup_s: float | None) -> dict[str, Any]:
    """The key's inputs of a load test (``summary.json``'s ``config``)."""
    settings = config.to_json()
    return {
        "document": "run",
        "users": users_of(config),
        "load": {name: settings[name] for name in LOAD_FIELDS},
        "warmup_s": warmup_s,
        "host": config.host or None,
        "machine": _machine(machine),
    }


def capacity_inputs(
    capacity: Mapping[str, Any], config: RunSettings, machine: Machine
) -> dict[str, Any]:
    """A capacity search: its users, its plan (the load it steps through) and host."""
    return {
        "document": "capacity",
        "users": users_of(config),
        "load": dict(capacity["plan"]),
        "warmup_s": None,
        "host": capacity.get("host"),
        "machine": _machine(machine),
    }


def compare_inputs(comparison: Mapping[str, Any], machine: Machine) -> dict[str, Any]:
    """A comparison: how it ran (each run's config, the server commands, the method)."""
    config = comparison.get("config", {})
    return {
        "document": "compare",
        "users": {"method": comparison.get("method")},
        "load": config,
        "warmup_s": config.get("warmup_s"),
        "host": [comparison["baseline"].get("command"), comparison["candidate"].get("command")],
        "machine": _machine(machine),
    }


def _machine(machine: Machine) -> dict[str, Any]:
    return {"cpu_model": machine.cpu_model, "cores": machine.cores}


def differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """The inputs two keys differ by: ``["host", "load.users"]``."""
    found = []
    for name in sorted(set(a) | set(b)):
        left, right = a.get(name), b.get(name)
        if left == right:
            continue
        if isinstance(left, Mapping) and isinstance(right, Mapping):
            found += [f"{name}.{inner}" for inner in differences(left, right)]
        else:
            found.append(name)
    return found
