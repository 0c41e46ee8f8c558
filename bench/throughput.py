"""Throughput benchmark: spendcast vs its own /health, the lab's starting code and a bare ASGI
hello, with wrk on loopback, server and generator on separate cores, interleaved repetitions.

    python -m bench throughput            # full run (see bench/README.md)
    python -m bench throughput --quick    # the CI-friendly regression guard
    python -m bench throughput --suite stacks   # bare hello on each candidate server stack
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from bench import serving_only
from bench.chart import write_chart
from bench.cpu import snapshot, system_busy_seconds, used_between, worker_pids
from bench.memory import (
    HEAVY,
    MEMORY_HEADER,
    heavy_imports,
    memory_rows,
    resident_kib,
    worker_memory,
)
from bench.options import shared_options
from bench.report import (
    RATIO_HEADER,
    SCENARIO_HEADER,
    Measurement,
    format_table,
    ratio_rows,
    scenario_figures,
    scenario_rows,
    summary,
)
from bench.results import Ratio, Results, command_line, spendcast_source
from bench.results import machine as results_machine
from bench.servers import RunningServer, running
from bench.suites import (
    Pinning,
    Scenario,
    Suite,
    full_suite,
    spendcast_env,
    spendcast_stacks_suite,
    stacks_suite,
    train_model,
)
from bench.wrk import WrkResult, run_wrk, wrk_command

APP_MODULE = "spendcast.api.app"


def _measure(
    server: RunningServer,
    scenario: Scenario,
    *,
    connections: int,
    duration_s: float,
    threads: int,
    pin: Pinning,
    token: str | None,
    wrk: str,
) -> tuple[WrkResult, tuple[float, ...], float]:
    """One wrk run; returns its result, each worker's CPU and the rest of the machine's CPU."""
    pids = worker_pids(server.process.pid)
    before, busy_before = snapshot(pids), system_busy_seconds()
    command = wrk_command(
        server.url,
        connections=connections,
        duration_s=duration_s,
        threads=threads,
        cpus=pin.generator,
        wrk=wrk,
    )
    result = run_wrk(command, path=scenario.path, randomised_query=scenario.query, token=token)
    workers = used_between(before, snapshot(pids))
    other = system_busy_seconds() - busy_before - sum(workers) - result.generator_cpu_s
    return result, workers, round(max(0.0, other), 2)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@shared_options(
    "throughput", rounds=3, quick_rounds=2, quick="3 s runs, 2 rounds, the CI regression guard"
)
@click.option(
    "--suite",
    type=click.Choice(["full", "stacks", "spendcast-stacks"]),
    default="full",
    show_default=True,
    help="full: spendcast vs lab vs bare hello; stacks: bare hello on each server stack; "
    "spendcast-stacks: /predict under spendcast serve, granian and uvicorn --workers.",
)
@click.option(
    "--duration", type=float, default=None, help="Seconds per wrk run [default: 10, --quick: 3]."
)
@click.option(
    "--connections",
    type=int,
    default=64,
    show_default=True,
    help="wrk connections for spendcast and the hello.",
)
@click.option(
    "--lab-connections",
    type=int,
    default=4,
    show_default=True,
    help="wrk connections for the (100-1000x slower) lab baseline.",
)
@click.option(
    "--lab-duration",
    type=float,
    default=None,
    help="Seconds per lab-baseline run [default: half of --duration, at least 2].",
)
@click.option("--threads", type=int, default=1, show_default=True, help="wrk threads.")
@click.option(
    "--stack",
    type=click.Choice(["serve", "uvicorn", "granian", "reuseport"]),
    default="serve",
    show_default=True,
    help="Server stack of the bare hello in the full suite (match what `spendcast serve` runs).",
)
@click.option(
    "--model-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="A directory with a trained model [default: train one in a temp dir].",
)
@click.option(
    "--only",
    multiple=True,
    help="Run only the scenarios whose name contains this text (repeatable).",
)
@click.option("--wrk", "wrk_path", default="wrk", show_default=True, help="wrk executable.")
@click.option(
    "--serving-only/--no-serving-only",
    "with_serving_only",
    default=True,
    show_default=True,
    help="Also measure the memory of `spendcast serve` from a `pip install <repo>` without "
    "extras (not with --suite stacks).",
)
@click.option(
    "--serving-only-venv",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="That install's virtualenv, reused while the source is unchanged "
    "[default: runs/bench/serving-only-venv; for another tree's src: ...-venv-baseline].",
)
def main(
    suite: str, quick: bool, duration: float | None, rounds: int, connections: int,
    lab_connections: int, lab_duration: float | None, threads: int, stack: str, pin: bool,
    model_dir: Path | None, out: Path, only: tuple[str, ...], wrk_path: str,
    with_serving_only: bool, serving_only_venv: Path | None,
) -> None:  # fmt: skip
    """Measure rps and p50/p99 of each scenario, then the ratios with their spread."""
    if shutil.which(wrk_path) is None:
        raise click.ClickException(f"{wrk_path} not found (apt-get install wrk)")
    duration = duration or (3.0 if quick else 10.0)
    lab_duration = lab_duration or max(2.0, duration / 2)
    pinning = Pinning.for_cpus(sorted(os.sched_getaffinity(0)), enabled=pin)
    cores = len(os.sched_getaffinity(0))  # what the servers and wrk share
    token = secrets.token_urlsafe(16)
    out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="spendcast-bench-") as tmp, ExitStack() as stack_:
        workdir = Path(tmp)
        chosen = _suite(suite, pinning, workdir, model_dir, token, stack).select(only)
        servers: dict[str, RunningServer] = {}
        for spec in chosen.servers:
            click.echo(f"starting {spec.name} (cpus {spec.cpus or 'any'}) ...", err=True)
            servers[spec.name] = stack_.enter_context(running(spec, workdir))

        def measure(
            scenario: Scenario, seconds: float
        ) -> tuple[WrkResult, tuple[float, ...], float]:
            return _measure(
                servers[scenario.server], scenario,
                connections=lab_connections if scenario.slow else connections,
                duration_s=lab_duration if scenario.slow and seconds >= duration else seconds,
                threads=threads, pin=pinning, token=token, wrk=wrk_path,
            )  # fmt: skip

        for scenario in chosen.scenarios:  # warm-up, discarded
            measure(scenario, 1)
        memory = {name: _memory(server) for name, server in servers.items()}
        measurements: list[Measurement] = []
        started = time.monotonic()
        for repetition in range(rounds):
            for scenario in chosen.scenarios:
                result, cpu, other = measure(scenario, duration)
                measurements.append(
                    Measurement(
                        scenario.name,
                        repetition,
                        result.rps,
                        result.p50_us,
                        result.p99_us,
                        result.error_count,
                        result.requests,
                        cpu,
                        result.generator_cpu_s,
                        other,
                        cores,
                    )
                )
                click.echo(
                    f"rep {repetition + 1}/{rounds} {scenario.name:<24} {result.rps:>10,.0f} rps"
                    f"  p99 {result.p99_us / 1000:6.2f} ms  errors {result.error_count}"
                    f"  worker cpu {cpu}  other cpu {other}",
                    err=True,
                )
        elapsed = time.monotonic() - started
        for name, server in servers.items():
            for worker, rss in zip(memory[name], _rss(server), strict=True):
                worker["rss_kib_after_runs"] = rss
        if with_serving_only and suite != "stacks":
            memory |= _serving_only(
                serving_only_venv, model_dir or workdir / "models",
                workdir, token, pinning, duration, wrk_path,
            )  # fmt: skip

    machine = results_machine()
    title = (
        f"{suite} suite, {machine['cpus']} cpus ({machine['cpu_model']}), "
        f"{rounds} x {duration:g} s, {connections} connections"
    )
    click.echo(f"\n{title}\n")
    click.echo(format_table(SCENARIO_HEADER, scenario_rows(measurements)))
    click.echo("")
    click.echo(format_table(RATIO_HEADER, ratio_rows(measurements, chosen.ratios)))
    app_imports = heavy_imports(APP_MODULE)
    click.echo("")
    click.echo(format_table(MEMORY_HEADER, memory_rows(memory)))
    click.echo(
        f"a fresh `import {APP_MODULE}` loads: {', '.join(app_imports) or 'none'} of "
        f"{', '.join(HEAVY)}"
    )
    digest = summary(measurements, chosen.ratios)
    results = Results(
        benchmark="throughput",
        command=command_line(),
        rounds=rounds,
        ratios={label: Ratio.from_json(entry) for label, entry in digest["ratios"].items()},
        figures=scenario_figures(measurements),
        machine=machine,
    )
    details = {
        "settings": {
            "suite": suite,
            "duration_s": duration,
            "rounds": rounds,
            "connections": connections,
            "lab_connections": lab_connections,
            "lab_duration_s": lab_duration,
            "wrk_threads": threads,
            "pinning": pinning.__dict__,
            "stack": stack,
            "elapsed_s": round(elapsed, 1),
        },
        "measurements": [m.as_dict() for m in measurements],
        **digest,
        "memory": memory,
        "app_import_heavy_modules": app_imports,
    }
    written = results.write(out, details)
    write_chart(measurements, chosen.ratios, out / "throughput.png", title)
    click.echo(f"\nwrote {written} and {out / 'throughput.png'}")


def _rss(server: RunningServer) -> list[int]:
    return [resident_kib(pid) for pid in worker_pids(server.process.pid)]


def _memory(server: RunningServer) -> list[dict[str, Any]]:
    """Each worker's resident memory after the warm-up and the native packages it mapped."""
    return [worker_memory(pid) for pid in worker_pids(server.process.pid)]


def _serving_only(
    venv: Path | None, model_dir: Path, workdir: Path, token: str, pin: Pinning, duration: float,
    wrk: str,
) -> dict[str, list[dict[str, Any]]]:  # fmt: skip
    """The memory rows of a ``pip install <repo>`` without extras (bench/serving_only.py), the
    repository being the tree spendcast is imported from (this one, or ``--baseline``'s)."""
    repo = spendcast_source().parent
    venv = venv or serving_only.default_venv(repo)
    click.echo(
        f"serving-only install in {venv} (built unless its source is unchanged) ...", err=True
    )
    return serving_only.measure(
        serving_only.build_venv(venv.resolve(), repo), model_dir, workdir,
        token=token, pin=pin, duration_s=duration, wrk=wrk,
    )  # fmt: skip


def _suite(
    name: str, pin: Pinning, workdir: Path, model_dir: Path | None, token: str, stack: str
) -> Suite:
    if name == "stacks":
        return stacks_suite(pin)
    if model_dir is None:
        model_dir = workdir / "models"
        click.echo(f"training a model in {model_dir} ...", err=True)
        train_model(model_dir)
    env = spendcast_env(workdir, model_dir, token)
    lab_env = {
        "LAB_BASELINE_MODEL": str(workdir / "lab_baseline_model.joblib"),
        "LAB_BASELINE_DATABASE_URL": f"sqlite:///{workdir / 'lab_baseline.db'}",
    }
    if name == "spendcast-stacks":
        return spendcast_stacks_suite(pin, env, workdir)
    return full_suite(pin, env, lab_env, workdir, stack)


if __name__ == "__main__":
    main()
