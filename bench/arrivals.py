"""Evenness benchmark: how evenly spaced the open model's requests arrive, as the server sees
them, from ``spendcast loadtest --rate R --arrival constant`` and from plain Locust paced the
same (``constant_throughput(R / users)``), rate by rate, rounds interleaved.

    python -m bench arrivals                  # 3 rounds at 200, 1000 and 2000/s, 6 s windows
    python -m bench arrivals --quick          # 1 round of 2 s windows: a smoke run
    python -m bench arrivals --rates 500,3000

The server is ``bench/arrival_server.py`` (pinned like the generator benchmark's, Locust on
another core): each arrival is the kernel's receive time of the request. Per run, once the
load flows and ``--warmup`` has passed, a window of ``--window`` seconds: the inter-arrival
coefficient of variation (CV: standard deviation over mean of the gaps between consecutive
arrivals; 0 is a metronome, 1 is Poisson), the rate received, and the requests per Locust
CPU-second (what evenness costs: an even stream wakes the generator once per request, a
bursty one serves several per wake-up). ``--arrival constant`` promises a CV under
``CV_TARGET`` at any rate the generator holds.
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import click

from bench.arrival_server import ARRIVALS_PATH
from bench.cpu import processes_running, total_cpu
from bench.generators import (
    GENERATORS,
    LOCUST_MARKER,
    ROOT,
    Case,
    Load,
    generator_command,
    generator_process,
)
from bench.options import shared_options
from bench.report import format_table, spread
from bench.results import Ratio, Results, command_line
from bench.servers import PORT, ServerSpec, running
from bench.suites import Pinning

CV_TARGET: Final = 0.3
STARTUP_S: Final = 60.0  # no arrival by then: the generator failed
END_MARGIN_S: Final = 3  # Locust's run time beyond warm-up + window


@dataclass(frozen=True)
class Run:
    """One generator at one rate in one round, over its window."""

    generator: str
    rate: float  # asked
    round: int
    arrivals: int  # in the window
    window_s: float
    cv: float  # of the gaps between consecutive arrivals in the window
    locust_cpu_s: float

    @property
    def rps(self) -> float:
        return self.arrivals / self.window_s

    @property
    def per_cpu_s(self) -> float:
        return self.arrivals / self.locust_cpu_s if self.locust_cpu_s > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rps": round(self.rps, 1), "per_cpu_s": round(self.per_cpu_s)}


def gap_cv(times: list[float]) -> float:
    """The coefficient of variation of the gaps between consecutive ``times`` (sorted)."""
    gaps = [b - a for a, b in itertools.pairwise(times)]
    if len(gaps) < 2 or statistics.fmean(gaps) <= 0:
        return float("nan")
    return statistics.pstdev(gaps) / statistics.fmean(gaps)


def _drain(url: str) -> list[float]:
    with urllib.request.urlopen(url + ARRIVALS_PATH, timeout=5) as response:
        times: list[float] = json.loads(response.read())
        return times


def measure(
    command: list[str], env: dict[str, str], url: str, *, cpus: str | None, warmup_s: float,
    window_s: float, log: Path,
) -> tuple[list[float], float]:  # fmt: skip
    """Run one generator; the arrivals of its window (sorted) and its Locust CPU meanwhile."""
    _drain(url)  # what came before is not this run's
    received: list[float] = []
    with generator_process(command, env, cpus=cpus, log=log) as process:
        deadline = time.monotonic() + STARTUP_S
        while not received:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"no load came; see {log}")
            time.sleep(0.1)
            received += _drain(url)
        start = received[0] + warmup_s
        end = start + window_s
        time.sleep(max(0.0, start - time.time()))
        locust = processes_running(process.pid, LOCUST_MARKER)
        cpu_before = total_cpu(locust)
        time.sleep(max(0.0, end - time.time()))
        cpu = total_cpu(locust) - cpu_before
        time.sleep(0.2)  # the window's last requests reach the server
        received += _drain(url)
        if process.poll() is not None:
            raise RuntimeError(f"the generator ended inside the window; see {log}")
    return sorted(at for at in received if start <= at < end), cpu


def _rates(text: str) -> tuple[float, ...]:
    try:
        rates = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise click.BadParameter(f"{text!r}: rates are numbers, e.g. 200,1000,2000") from None
    if not rates or min(rates) <= 0:
        raise click.BadParameter(f"{text!r}: every rate is above 0")
    return rates


def rows(runs: list[Run]) -> list[list[str]]:
    """One row per rate and generator: CV, rate received and requests per CPU-second, each
    median [min-max] over rounds, and whether the CV meets the target."""
    table = []
    for rate in dict.fromkeys(run.rate for run in runs):
        for generator in GENERATORS:
            mine = [r for r in runs if r.rate == rate and r.generator == generator]
            if not mine:
                continue
            cv = spread([r.cv for r in mine])
            verdict = "ok" if cv.median < CV_TARGET else "ABOVE"
            rps, per_cpu = spread([r.rps for r in mine]), spread([r.per_cpu_s for r in mine])
            table.append(
                [f"{rate:g}/s", generator, cv.label(3), verdict, rps.label(0), per_cpu.label(0)]
            )
    return table


HEADER = ["rate", "generator", "inter-arrival cv", f"cv < {CV_TARGET:g}", "req/s received",
          "req per locust cpu-s"]  # fmt: skip


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@shared_options("arrivals", rounds=3, quick_rounds=1, quick="1 round of 2 s windows")
@click.option(
    "--rates", default="200,1000,2000", show_default=True, help="Open-model rates, comma-separated."
)
@click.option("--window", type=float, default=None, help="Measured seconds per run [6; quick 2].")
@click.option("--warmup", type=float, default=None, help="Seconds before the window [2; quick 1].")
@click.option("--users", type=int, default=32, show_default=True, help="Locust users (at most).")
def main(
    quick: bool, rounds: int, pin: bool, out: Path, rates: str, window: float | None,
    warmup: float | None, users: int,
) -> None:  # fmt: skip
    """Inter-arrival CV at the server: spendcast loadtest --rate against plain Locust."""
    asked = _rates(rates)
    window = window or (2.0 if quick else 6.0)
    warmup = warmup or (1.0 if quick else 2.0)
    pinning = Pinning.for_cpus(sorted(os.sched_getaffinity(0)), enabled=pin)
    runs: list[Run] = []
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="spendcast-arrivals-") as tmp:
        workdir = Path(tmp)
        spec = ServerSpec(
            name="arrival-server",
            command=(sys.executable, "-m", "bench.arrival_server", PORT),
            cpus=pinning.single,
            cwd=ROOT,
        )
        with running(spec, workdir) as server:
            load = Load(server.url, users, int(warmup + window) + END_MARGIN_S)
            for round_ in range(rounds):
                for rate in asked:
                    for generator in GENERATORS:
                        case = Case(f"rate {rate:g}/s", rate=rate)
                        name = f"{generator}-{round_}-{rate:g}"
                        (workdir / name).mkdir()
                        command, env = generator_command(
                            generator, case, load, workdir / name / "run"
                        )
                        try:
                            times, cpu = measure(
                                command, env, server.url, cpus=pinning.generator,
                                warmup_s=warmup, window_s=window, log=workdir / name / "out.log",
                            )  # fmt: skip
                        except RuntimeError as error:
                            failures.append(f"{generator} {rate:g}/s: {error}")
                            click.echo(f"FAILED {failures[-1]}", err=True)
                            continue
                        run = Run(generator, rate, round_, len(times), window, gap_cv(times), cpu)
                        runs.append(run)
                        click.echo(
                            f"round {round_ + 1}/{rounds} {generator:<9} {rate:>6g}/s  cv "
                            f"{run.cv:.3f}  {run.rps:,.0f} req/s  {run.per_cpu_s:,.0f} req/cpu-s",
                            err=True,
                        )
    title = (
        f"arrivals benchmark, {rounds} rounds x {window:g} s window (+{warmup:g} s warm-up), "
        f"{users} users, Locust on cpu {pinning.generator or 'any'}, server on cpu "
        f"{pinning.single or 'any'}; arrival times: the kernel's receive time"
    )
    click.echo(f"\n{title}\n")
    click.echo(format_table(HEADER, rows(runs)))
    for failure in failures:
        click.echo(f"FAILED {failure}")
    figures: dict[str, tuple[float, ...]] = {}
    for run in sorted(runs, key=lambda r: r.round):
        for figure, value in (("inter-arrival cv", run.cv), ("requests per cpu-s", run.per_cpu_s)):
            name = f"{run.generator} {run.rate:g}/s: {figure}"
            figures[name] = (*figures.get(name, ()), round(value, 3))
    ratios = {}
    for rate in asked:
        by_round = {
            (r.round, r.generator): r.per_cpu_s for r in runs if r.rate == rate and r.per_cpu_s
        }
        values = [
            by_round[(n, "spendcast")] / by_round[(n, "plain")]
            for n in range(rounds)
            if (n, "spendcast") in by_round and (n, "plain") in by_round
        ]
        if values:
            ratios[f"{rate:g}/s: spendcast / plain, requests per cpu-s"] = Ratio.of(values)
    results = Results(
        benchmark="arrivals", command=command_line(), rounds=rounds, ratios=ratios, figures=figures
    )
    details = {
        "settings": {"rates": list(asked), "window_s": window, "warmup_s": warmup,
                     "users": users, "pinning": pinning.__dict__, "cv_target": CV_TARGET},
        "runs": [run.as_dict() for run in runs],
        "failures": failures,
    }  # fmt: skip
    click.echo(f"\nwrote {results.write(out, details)}")
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
