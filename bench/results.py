"""One ``results.json`` schema for every benchmark, and what ``python -m bench compare`` reads.

    {"benchmark": "throughput", "created": "...", "command": "python -m bench throughput ...",
     "machine": {"cpus": 2, "cpu_model": "...", "kernel": "...", "python": "3.11.7"},
     "rounds": 3,
     "source": "/path/to/src",
     "ratios": {"predict / health, 1 worker": {"values": [1.5, 1.6], "median": 1.55,
                                               "min": 1.5, "max": 1.6}, ...},
     "figures": {"predict 1w: cpu us/request": [72.1, 73.4], ...},
     ...the benchmark's own details (scenarios, runs, memory), left to it...}

A ratio pairs two runs of the same round (so a slow moment of the machine cancels out);
``values`` holds one per round. A figure is one headline measurement, one value per round:
what ``--baseline REV`` pairs, round by round, into ``NAME: candidate / baseline`` ratios
(``bench/baseline.py``). ``source`` is the ``src`` directory spendcast was imported from.
``Results.from_json`` reads these keys and ignores the rest: the only place they are spelled.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import spendcast

RESULTS_FILE = "results.json"


def spendcast_source() -> Path:
    """The ``src`` directory this process imports spendcast from (the working tree's, or a
    baseline's when ``PYTHONPATH`` points there)."""
    return Path(spendcast.__file__).resolve().parent.parent


def command_line() -> str:
    """How this benchmark was started, as ``python -m bench ...``."""
    return " ".join(["python", "-m", "bench", *sys.argv[1:]])


def machine() -> dict[str, Any]:
    """What a figure depends on: cores this process may use, CPU model, kernel, Python."""
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


@dataclass(frozen=True)
class Ratio:
    values: tuple[float, ...]  # one per round
    median: float
    low: float
    high: float

    def to_json(self) -> dict[str, Any]:
        return {"values": list(self.values), "median": self.median, "min": self.low,
                "max": self.high}  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Ratio:
        return cls(tuple(data["values"]), data["median"], data["min"], data["max"])

    @classmethod
    def of(cls, values: Sequence[float]) -> Ratio:
        """Median and range of one value per round (``values`` must not be empty)."""
        return cls(tuple(values), statistics.median(values), min(values), max(values))


@dataclass(frozen=True)
class Results:
    benchmark: str
    command: str
    rounds: int
    ratios: dict[str, Ratio]
    figures: dict[str, tuple[float, ...]] = field(default_factory=dict)  # one value per round
    machine: dict[str, Any] = field(default_factory=machine)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    source: str = field(default_factory=lambda: str(spendcast_source()))

    def to_json(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "created": self.created,
            "command": self.command,
            "machine": self.machine,
            "rounds": self.rounds,
            "source": self.source,
            "ratios": {name: ratio.to_json() for name, ratio in self.ratios.items()},
            "figures": {name: list(values) for name, values in self.figures.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Results:
        return cls(
            benchmark=data["benchmark"],
            command=data["command"],
            rounds=data["rounds"],
            ratios={name: Ratio.from_json(r) for name, r in data["ratios"].items()},
            figures={name: tuple(v) for name, v in data.get("figures", {}).items()},
            machine=data["machine"],
            created=data["created"],
            source=data.get("source", ""),  # absent from the files of before figures
        )

    def write(self, out: Path, details: Mapping[str, Any]) -> Path:
        """``out/results.json``: these keys, then the benchmark's own ``details`` (which may
        give a ratio more keys than these four: its target, whether it was met)."""
        data = self.to_json()
        if clash := sorted((data.keys() - {"ratios"}) & details.keys()):
            raise ValueError(f"details would overwrite {', '.join(clash)}")
        out.mkdir(parents=True, exist_ok=True)
        path = out / RESULTS_FILE
        path.write_text(json.dumps({**data, **details}, indent=2) + "\n")
        return path


def read(path: Path) -> Results:
    """A ``results.json``, or the one in the directory ``path``."""
    if path.is_dir():
        path = path / RESULTS_FILE
    return Results.from_json(json.loads(path.read_text()))


def comparison_rows(old: Results, new: Results) -> list[list[str]]:
    """One row per ratio both hold, then per figure both hold (``figure: NAME``): old and new
    median [min-max], and new / old."""
    pairs = [(name, ratio, new.ratios[name]) for name, ratio in old.ratios.items()
             if name in new.ratios]  # fmt: skip
    pairs += [
        (f"figure: {name}", Ratio.of(old.figures[name]), Ratio.of(new.figures[name]))
        for name in old.figures
        if name in new.figures and old.figures[name] and new.figures[name]
    ]
    rows = []
    for name, before, after in pairs:
        change = f"{after.median / before.median:.3f}" if before.median else "n/a"
        rows.append([name, _label(before), _label(after), change])
    return rows


def _label(ratio: Ratio) -> str:
    return f"{ratio.median:.3f} [{ratio.low:.3f}-{ratio.high:.3f}]"
