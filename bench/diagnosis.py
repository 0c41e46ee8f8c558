"""The diagnosis's accuracy and cost, measured (issue 23's goals; never asserted by a test).

    python -m bench diagnosis knee    # capacity against an exactly-200-req/s server, both modes
    python -m bench diagnosis cost    # a CPU-bound server's throughput watched, sampled, or not

``knee``: ``tests/support/fixed_service_app`` serving one request at a time in 5 ms (200 req/s
exactly) searched by the real ``spendcast capacity`` CLI with its defaults but a looser SLO
(``p99<1s``: the knee is where throughput stops, whatever else loads the machine) and no knee
sample, in users mode and in rate mode (``--quick``: users mode only, 1 s windows); prints the
capacity found, its error and the search's time; ``knee / true capacity`` is the ratio.

``cost``: ``tests/support/bottleneck_app`` burning 5 ms of CPU per request (one core, full)
under 4 users for ``--seconds``, in interleaved rounds of three conditions: alone; watched by
the diagnosis (``Watcher``: its processes read twice a second); watched and sampled by py-spy
the whole window (what the knee step costs); prints each condition's mean throughput and its
cost against the first; ``watched / alone`` and ``sampled / alone`` are paired per round.

Both write ``results.json`` under ``--out`` (``runs/bench/diagnosis/knee`` and ``.../cost``).
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

import click

from bench.options import shared_options
from bench.results import Ratio, Results, command_line
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Accuracy and cost of spendcast capacity's diagnosis."""


@main.command(context_settings={"help_option_names": ["-h", "--help"]})
@shared_options(
    "diagnosis/knee", rounds=1, quick_rounds=1, quick="users mode only, 1 s windows", pin="none"
)
def knee(quick: bool, rounds: int, pin: bool, out: Path) -> None:
    """The knee against a server of exactly 200 req/s, in both load models."""
    modes = {"users": [], "rate": ["--start", "50"]}
    if quick:
        modes = {"users": ["--window", "1s"]}
    found: dict[str, list[float]] = {}
    seconds: dict[str, list[float]] = {}
    for _ in range(rounds):
        for mode, options in modes.items():
            with fixed_service(service_ms=1000 / TRUE_CAPACITY) as server, \
                    tempfile.TemporaryDirectory() as tmp:  # fmt: skip
                started = time.monotonic()
                subprocess.run(
                    [sys.executable, "-m", "spendcast", "capacity", "--host", server.url,
                     "--mode", mode, "--out", tmp, "--knee-sample", "0", "--slo", "p99<1s",
                     "--quiet", *options],
                    check=True, capture_output=True,
                )  # fmt: skip
                elapsed = time.monotonic() - started
                data = json.loads(Path(tmp, "capacity.json").read_text())
            knee_rps = data["best"]["figures"]["rps"] if data["best"] else 0.0
            found.setdefault(mode, []).append(knee_rps)
            seconds.setdefault(mode, []).append(round(elapsed, 1))
            error = 100 * (knee_rps / TRUE_CAPACITY - 1)
            click.echo(f"{mode:5}  knee {knee_rps:7.1f} req/s  error {error:+5.1f} %  "
                       f"{len(data['steps'])} steps in {elapsed:5.1f} s  bottleneck "
                       f"{data['diagnosis']['bottleneck']}")  # fmt: skip
    ratios = {
        f"{mode}: knee / true capacity": Ratio.of([v / TRUE_CAPACITY for v in values])
        for mode, values in found.items()
    }
    figures = {f"{mode}: knee req/s": tuple(values) for mode, values in found.items()}
    figures |= {f"{mode}: search s": tuple(values) for mode, values in seconds.items()}
    written = Results("diagnosis knee", command_line(), rounds, ratios, figures).write(
        out, {"true_capacity": TRUE_CAPACITY}
    )
    click.echo(f"wrote {written}", err=True)


@main.command(context_settings={"help_option_names": ["-h", "--help"]})
@shared_options("diagnosis/cost", rounds=3, quick_rounds=2, quick="3 s runs", pin="none")
@click.option("--seconds", type=int, default=None, help="Each measured run [10; --quick: 3].")
def cost(quick: bool, rounds: int, pin: bool, out: Path, seconds: int | None) -> None:
    """Throughput of a CPU-bound server alone, watched, and watched + sampled."""
    seconds = seconds or (3 if quick else 10)
    results: dict[str, list[float]] = {"alone": [], "watched": [], "sampled": []}
    with bottleneck_server("cpu", ms=5) as server, tempfile.TemporaryDirectory() as tmp:
        config = RunConfig(Target(server.url), load=ClosedLoad(4, duration_s=seconds))
        target = ServerTarget((server.process.pid,), None, True)
        for index in range(rounds):
            for condition in results:
                config_n = replace(config, output=Output(Path(tmp, f"{condition}-{index}"), False))
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
                click.echo(f"round {index + 1} {condition:8} {run.rps:8.1f} req/s")
    base = statistics.mean(results["alone"])
    for condition, values in results.items():
        mean = statistics.mean(values)
        click.echo(f"{condition:8} {mean:8.1f} req/s  cost {100 * (1 - mean / base):+5.1f} %  "
                   f"(rounds: {', '.join(f'{v:.1f}' for v in values)})")  # fmt: skip
    ratios = {
        f"{condition} / alone, req/s": Ratio.of(
            [v / a for v, a in zip(results[condition], results["alone"], strict=True) if a]
        )
        for condition in ("watched", "sampled")
    }
    figures = {f"{condition}: req/s": tuple(values) for condition, values in results.items()}
    written = Results("diagnosis cost", command_line(), rounds, ratios, figures).write(
        out, {"seconds": seconds}
    )
    click.echo(f"wrote {written}", err=True)


if __name__ == "__main__":
    main()
