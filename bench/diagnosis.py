"""The diagnosis's accuracy and cost, measured (issue 23's goals; never asserted by a test).

    python bench/diagnosis.py knee    # capacity against an exactly-200-req/s server, both modes
    python bench/diagnosis.py cost    # a CPU-bound server's throughput watched, sampled, or not

``knee``: ``tests/support/fixed_service_app`` serving one request at a time in 5 ms (200 req/s
exactly) searched by the real ``spendcast capacity`` CLI with its defaults but a looser SLO
(``p99<1s``: the knee is where throughput stops, whatever else loads the machine) and no knee
sample, in users mode and in rate mode; prints the capacity found, its error and the search's time.

``cost``: ``tests/support/bottleneck_app`` burning 5 ms of CPU per request (one core, full)
under 4 users for ``--seconds``, in interleaved rounds of three conditions: alone; watched by
the diagnosis (``Watcher``: its processes read twice a second); watched and sampled by py-spy
the whole window (what the knee step costs); prints each condition's mean throughput and its
cost against the first.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` and ``tests`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import click

from spendcast.loadtest.diagnosis.sampling import sample
from spendcast.loadtest.diagnosis.watcher import ServerTarget, Watcher
from spendcast.loadtest.run.config import RunConfig
from spendcast.loadtest.run.load import ClosedLoad
from spendcast.loadtest.run.output import Output
from spendcast.loadtest.run.runner import run_load
from spendcast.loadtest.run.target import Target
from tests.support.bottleneck import bottleneck_server
from tests.support.fixed_service import fixed_service

TRUE_CAPACITY = 200.0


@click.group()
def main() -> None:
    """Accuracy and cost of spendcast capacity's diagnosis."""


@main.command()
def knee() -> None:
    """The knee against a server of exactly 200 req/s, in both load models."""
    for mode, options in (("users", []), ("rate", ["--start", "50"])):
        with fixed_service(service_ms=1000 / TRUE_CAPACITY) as server, \
                tempfile.TemporaryDirectory() as out:  # fmt: skip
            started = time.monotonic()
            subprocess.run(
                [sys.executable, "-m", "spendcast", "capacity", "--host", server.url, "--mode",
                 mode, "--out", out, "--knee-sample", "0", "--slo", "p99<1s", "--quiet",
                 *options],
                check=True, capture_output=True,
            )  # fmt: skip
            elapsed = time.monotonic() - started
            data = json.loads(Path(out, "capacity.json").read_text())
        found = data["best"]["figures"]["rps"] if data["best"] else 0.0
        error = 100 * (found / TRUE_CAPACITY - 1)
        print(f"{mode:5}  knee {found:7.1f} req/s  error {error:+5.1f} %  "
              f"{len(data['steps'])} steps in {elapsed:5.1f} s  bottleneck "
              f"{data['diagnosis']['bottleneck']}")  # fmt: skip


@main.command()
@click.option("--seconds", default=10, show_default=True, help="Each measured run.")
@click.option("--rounds", default=3, show_default=True, help="Interleaved rounds.")
def cost(seconds: int, rounds: int) -> None:
    """Throughput of a CPU-bound server alone, watched, and watched + sampled."""
    results: dict[str, list[float]] = {"alone": [], "watched": [], "sampled": []}
    with bottleneck_server("cpu", ms=5) as server, tempfile.TemporaryDirectory() as out:
        config = RunConfig(Target(server.url), load=ClosedLoad(4, duration_s=seconds))
        target = ServerTarget((server.process.pid,), None, True)
        for index in range(rounds):
            for condition in results:
                config_n = replace(config, output=Output(Path(out, f"{condition}-{index}"), False))
                if condition == "alone":
                    run = run_load(config_n)
                else:
                    with Watcher(target):
                        sampler = None
                        if condition == "sampled":
                            sampler = threading.Thread(
                                target=sample, args=(server.process.pid, seconds), daemon=True
                            )
                            sampler.start()
                        run = run_load(config_n)
                        if sampler is not None:
                            sampler.join()
                results[condition].append(run.rps)
                print(f"round {index + 1} {condition:8} {run.rps:8.1f} req/s", flush=True)
    base = statistics.mean(results["alone"])
    for condition, values in results.items():
        mean = statistics.mean(values)
        print(f"{condition:8} {mean:8.1f} req/s  cost {100 * (1 - mean / base):+5.1f} %  "
              f"(rounds: {', '.join(f'{v:.1f}' for v in values)})")  # fmt: skip


if __name__ == "__main__":
    main()
