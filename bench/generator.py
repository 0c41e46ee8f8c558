"""Generator benchmark: plain ``locust`` vs ``spendcast loadtest``, same trivial server, same
request, Locust pinned to one core, interleaved rounds; requests per Locust CPU-second.

    python -m bench generator            # 5 rounds of a 10 s window (see bench/README.md)
    python -m bench generator --quick    # 2 rounds of a 3 s window: a smoke run

The server is the bare ASGI hello on uvicorn (one worker, pinned to the first core) that
counts what it answers (``bench/counting_asgi.py``), so that the generator is the bottleneck
and both generators are counted by the same instrument. Each run starts its generator, waits
for the load to flow, lets it warm up, then measures a window: the server's count, the CPU of
every Locust process of the generator (``/proc``), the server's and the rest of the machine's.
"""

from __future__ import annotations

import os
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from bench.counting_asgi import COUNT_PATH
from bench.cpu import (
    processes_running,
    system_busy_seconds,
    total_cpu,
    voluntary_switches,
    worker_pids,
)
from bench.generator_report import (
    RATIO_HEADER,
    RUN_HEADER,
    Run,
    digest,
    ratio_rows,
    run_figures,
    run_rows,
)
from bench.generators import (
    GENERATORS,
    LOCUST_MARKER,
    ROOT,
    Case,
    Load,
    cases,
    generator_command,
    generator_process,
    spendcast_help,
    unsupported,
)
from bench.options import shared_options
from bench.report import format_table
from bench.results import Ratio, Results, command_line
from bench.servers import RunningServer, ServerSpec, running
from bench.suites import Pinning, uvicorn_command

SUMMARY = "summary.json"  # what a spendcast run directory must hold
LOAD_STARTED = 200  # requests answered since the generator started: the load flows
END_MARGIN_S = 3  # Locust's run time beyond warm-up + window (its start-up is not counted)


def served(server: RunningServer) -> int:
    with urllib.request.urlopen(server.url + COUNT_PATH, timeout=5) as response:
        return int(response.read())


def measure(
    command: list[str], env: dict[str, str], server: RunningServer, *, generator: str,
    case: str, round_: int, cpus: str | None, warmup_s: float, window_s: float, log: Path,
) -> Run:  # fmt: skip
    """Run one generator and measure its window; raises when it fails or ends too early."""
    start = served(server)
    with generator_process(command, env, cpus=cpus, log=log) as process:
        deadline = time.monotonic() + 60
        while served(server) - start < LOAD_STARTED:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{generator} {case}: no load came; see {log}")
            time.sleep(0.05)
        time.sleep(warmup_s)
        locust = processes_running(process.pid, LOCUST_MARKER)
        parent = [pid for pid in [process.pid] if pid not in locust]
        server_pids = worker_pids(server.process.pid)

        def readings() -> tuple[float, ...]:
            cpu = [total_cpu(pids) for pids in (locust, parent, server_pids)]
            return (time.monotonic(), served(server), *cpu, system_busy_seconds(),
                    voluntary_switches(locust))  # fmt: skip

        before = readings()
        time.sleep(window_s)
        after = readings()
        if process.poll() is not None:
            raise RuntimeError(f"{generator} {case}: ended inside the window; see {log}")
        code = process.wait(timeout=120)
    if code != 0:
        raise RuntimeError(f"{generator} {case}: exit code {code}; see {log}")
    elapsed, requests, locust_cpu, parent_cpu, server_cpu, busy, waits = (
        b - a for a, b in zip(before, after, strict=True)
    )
    other = busy - locust_cpu - parent_cpu - server_cpu
    return Run(generator, case, round_, int(requests), round(elapsed, 3), round(locust_cpu, 3),
               round(parent_cpu, 3), round(server_cpu, 3), round(max(0.0, other), 2),
               int(waits))  # fmt: skip


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@shared_options(
    "generator", rounds=5, quick_rounds=2, quick="2 rounds of a 3 s window, a smoke run"
)
@click.option("--window", type=float, default=None, help="Measured seconds per run [10; quick 3].")
@click.option("--warmup", type=float, default=None, help="Seconds before the window [2; quick 1].")
@click.option("--users", type=int, default=32, show_default=True, help="Locust users.")
@click.option(
    "--rate",
    type=float,
    default=2000.0,
    show_default=True,
    help="Requests per second of the open-model case (needs `spendcast loadtest --rate`).",
)
@click.option(
    "--only", multiple=True, help="Run only the cases whose name holds this text (repeatable)."
)
def main(
    quick: bool, window: float | None, warmup: float | None, rounds: int, users: int,
    rate: float, only: tuple[str, ...], pin: bool, out: Path,
) -> None:  # fmt: skip
    """Requests per Locust CPU-second of spendcast loadtest against plain Locust."""
    window = window or (3.0 if quick else 10.0)
    warmup = warmup or (1.0 if quick else 2.0)
    pinning = Pinning.for_cpus(sorted(os.sched_getaffinity(0)), enabled=pin)
    help_text = spendcast_help()
    chosen: list[Case] = []
    skipped: list[str] = []
    for case in cases(rate):
        if only and not any(word in case.name for word in only):
            continue
        reason = unsupported(case, help_text)
        if reason is None:
            chosen.append(case)
        else:
            skipped.append(reason)
            click.echo(reason, err=True)
    out.mkdir(parents=True, exist_ok=True)
    runs: list[Run] = []
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="spendcast-generator-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        spec = ServerSpec(
            name="counting-hello",
            command=uvicorn_command("bench.counting_asgi:app", 1),
            cpus=pinning.single,
            cwd=ROOT,
        )
        click.echo(f"starting the counting hello (cpus {spec.cpus or 'any'}) ...", err=True)
        server = stack.enter_context(running(spec, workdir))
        load = Load(server.url, users, int(warmup + window) + END_MARGIN_S)
        started = time.monotonic()
        for round_ in range(rounds):
            for case in chosen:
                for generator in GENERATORS:
                    name = f"{generator}-{round_}-{case.name.replace(' ', '_').replace('/', '')}"
                    (workdir / name).mkdir()
                    command, env = generator_command(generator, case, load, workdir / name / "run")
                    log = workdir / name / "output.log"
                    try:
                        run = measure(
                            command, env, server, generator=generator, case=case.name,
                            round_=round_, cpus=pinning.generator, warmup_s=warmup,
                            window_s=window, log=log,
                        )  # fmt: skip
                        if generator == "spendcast" and not (log.parent / "run" / SUMMARY).exists():
                            raise RuntimeError(f"spendcast {case.name}: no {SUMMARY} was written")
                    except RuntimeError as error:  # one failed run: say why, keep the others
                        tail = log.read_text(errors="replace").strip().splitlines()[-3:]
                        failures.append(" | ".join([str(error), *tail]))
                        click.echo(f"FAILED {failures[-1]}", err=True)
                        continue
                    runs.append(run)
                    click.echo(
                        f"round {round_ + 1}/{rounds} {generator:<9} {case.name:<14}"
                        f" {run.rps:>8,.0f} req/s {run.per_cpu_s:>8,.0f} req/cpu-s"
                        f"  locust cpu {run.locust_cpu_s:.2f} s"
                        f" {run.waits_per_request:.2f} waits/req  other {run.other_cpu_s} s",
                        err=True,
                    )
        elapsed = time.monotonic() - started

    title = (
        f"generator benchmark, {len(os.sched_getaffinity(0))} cpus, {rounds} rounds x "
        f"{window:g} s window (+{warmup:g} s warm-up), {users} users, Locust on cpu "
        f"{pinning.generator or 'any'}, server on cpu {pinning.single or 'any'}"
    )
    click.echo(f"\n{title}\n")
    click.echo(format_table(RUN_HEADER, run_rows(runs)))
    click.echo("")
    click.echo(format_table(RATIO_HEADER, ratio_rows(runs)))
    for line in [*skipped, *(f"FAILED {failure}" for failure in failures)]:
        click.echo(line)
    ratios = digest(runs)
    results = Results(
        benchmark="generator",
        command=command_line(),
        rounds=rounds,
        ratios={
            f"{case}: {figure}": Ratio.from_json(entry[figure])
            for case, entry in ratios.items()
            for figure in ("requests_per_cpu_s", "rps")
        },
        figures=run_figures(runs),
    )
    details: dict[str, Any] = {
        "settings": {
            "rounds": rounds,
            "window_s": window,
            "warmup_s": warmup,
            "users": users,
            "rate": rate,
            "pinning": pinning.__dict__,
            "elapsed_s": round(elapsed, 1),
        },
        "skipped": skipped,
        "failures": failures,
        "runs": [run.as_dict() for run in runs],
        "cases": ratios,
    }
    click.echo(f"\nwrote {results.write(out, details)}")
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
