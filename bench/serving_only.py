"""A serving-only install measured: ``pip install <repo>`` with no extras in a virtualenv of its
own, ``spendcast serve`` started from it, warmed with authorised ``/predict`` under wrk, then
each worker's ``VmRSS`` and the native packages it mapped, read from ``/proc``.

The dev venv holds every extra (locust, gevent, matplotlib, pandas, ...); a worker started
from it could map one of them without the dev rows of the memory table showing why. A worker
of this install can only map what ``spendcast`` itself depends on.

    python -m bench memory             # both worker counts, the venv cached in runs/bench
    python -m bench memory --baseline HEAD~5   # the same against an older revision's install
    python -m bench throughput --quick       # the same rows in the throughput memory table

The install is built from the tree spendcast is imported from (this one, or ``--baseline``'s
``src`` with its ``pyproject.toml`` and ``README.md``), into ``runs/bench/serving-only-venv``
for this tree and ``runs/bench/serving-only-venv-baseline`` for another. Each is reused while
the source it was built from is unchanged (a digest of ``pyproject.toml``, ``README.md`` and
``src/`` kept in the venv), rebuilt otherwise.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from bench.cpu import worker_pids
from bench.memory import MEMORY_HEADER, memory_rows, resident_kib, worker_memory
from bench.options import shared_options
from bench.report import format_table
from bench.results import Ratio, Results, command_line, spendcast_source
from bench.servers import PORT, RunningServer, ServerSpec, running
from bench.suites import Pinning
from bench.wrk import WrkError, run_wrk, wrk_command

REPO_ROOT = Path(__file__).resolve().parent.parent
SOURCE = ("pyproject.toml", "README.md", "src")
STAMP = "spendcast-source.sha256"
DEFAULT_VENV = Path("runs/bench/serving-only-venv")
OTHER_TREE_VENV = Path("runs/bench/serving-only-venv-baseline")
WORKER_COUNTS = (1, 2)
_IGNORED = ("__pycache__", "*.egg-info", "*.pyc")


def server_name(workers: int) -> str:
    return f"spendcast-{workers}w-serving-only"


def source_files(repo: Path) -> list[Path]:
    """What ``pip install <repo>`` builds from, relative to ``repo``, sorted; caches left out."""
    files: list[Path] = []
    for name in SOURCE:
        top = repo / name
        candidates = sorted(top.rglob("*")) if top.is_dir() else [top]
        for path in candidates:
            relative = path.relative_to(repo)
            ignored = any(relative.match(pattern) for pattern in _IGNORED) or any(
                part == "__pycache__" or part.endswith(".egg-info") for part in relative.parts
            )
            if path.is_file() and not ignored:
                files.append(relative)
    return files


def source_digest(repo: Path) -> str:
    digest = hashlib.sha256()
    for relative in source_files(repo):
        digest.update(relative.as_posix().encode() + b"\0")
        digest.update((repo / relative).read_bytes() + b"\0")
    return digest.hexdigest()


def build_venv(venv: Path, repo: Path = REPO_ROOT) -> Path:
    """``venv`` holding ``pip install <a copy of repo>`` and nothing more (pip's cache used);
    reused as it is when built from the same source."""
    digest = source_digest(repo)
    stamp = venv / STAMP
    built = (venv / "bin" / "spendcast").is_file() and stamp.is_file()
    if built and stamp.read_text().strip() == digest:
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="spendcast-serving-only-") as tmp:
        source = Path(tmp) / "source"  # so the build leaves nothing in the repository
        for relative in source_files(repo):
            (source / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo / relative, source / relative)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        install = subprocess.run(
            [venv / "bin" / "python", "-m", "pip", "install", "--quiet", str(source)],
            capture_output=True,
            text=True,
            timeout=1000,
            check=False,
        )
    if install.returncode != 0:
        raise RuntimeError(f"pip install into {venv} failed:\n{install.stdout}{install.stderr}")
    stamp.write_text(digest + "\n")
    return venv


def default_venv(repo: Path) -> Path:
    """Where the install of ``repo`` is cached: one place for this tree, one for another."""
    return DEFAULT_VENV if repo == REPO_ROOT else OTHER_TREE_VENV


def serving_env(model_dir: Path, workdir: Path, token: str) -> dict[str, str]:
    """The server's settings; ``PYTHONPATH`` emptied (CPython ignores an empty one) so the
    benchmark's own environment cannot put the dev tree on the worker's path."""
    return {
        "PYTHONPATH": "",
        "SPENDCAST_MODEL_DIR": str(model_dir.resolve()),
        "SPENDCAST_DATABASE_URL": f"sqlite:///{workdir / 'serving-only.db'}",
        "SPENDCAST_LOG_FILE": str(workdir / "serving-only.log"),
        "SPENDCAST_JOURNAL_DIR": str(workdir / "serving-only-journal"),
        "SPENDCAST_API_TOKEN": token,
    }


def serve_spec(
    venv: Path, workers: int, env: Mapping[str, str], workdir: Path, cpus: str | None
) -> ServerSpec:
    serve = (str(venv / "bin" / "spendcast"), "serve", "--host", "127.0.0.1", "--port", PORT)
    return ServerSpec(
        name=server_name(workers),
        command=(*serve, "--workers", str(workers)),
        workers=workers,
        cpus=cpus,
        ready_path="/ready",
        env=env,
        cwd=workdir,
    )


def settled_workers(server: RunningServer, workers: int) -> list[int]:
    """The worker pids once there are exactly ``workers`` (a loader child may linger)."""
    deadline = time.monotonic() + 60
    while len(pids := worker_pids(server.process.pid)) != workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{server.spec.name}: workers {pids}, expected {workers}")
        time.sleep(0.1)
    return pids


def _load(
    server: RunningServer, seconds: float, *, token: str, pin: Pinning, connections: int, wrk: str
) -> None:
    command = wrk_command(
        server.url, connections=connections, duration_s=seconds, cpus=pin.generator, wrk=wrk
    )
    result = run_wrk(command, path="/predict", randomised_query=True, token=token)
    if result.error_count or not result.requests:
        raise WrkError(f"{server.spec.name}: {result.requests} answered, {result.errors}")


def measure(
    venv: Path, model_dir: Path, workdir: Path, *, token: str, pin: Pinning,
    connections: int = 64, duration_s: float = 3.0, wrk: str = "wrk",
) -> dict[str, list[dict[str, Any]]]:  # fmt: skip
    """For 1 and 2 workers of ``venv``'s ``spendcast serve``: each worker's memory after a 1 s
    wrk warm-up of authorised random ``/predict`` and after a ``duration_s`` wrk run."""
    env = serving_env(model_dir, workdir, token)
    memory: dict[str, list[dict[str, Any]]] = {}
    for workers in WORKER_COUNTS:
        spec = serve_spec(venv, workers, env, workdir, pin.server(workers))
        click.echo(f"starting {spec.name} from {venv} ...", err=True)
        with running(spec, workdir) as server:
            _load(server, 1, token=token, pin=pin, connections=connections, wrk=wrk)
            entries = [worker_memory(pid) for pid in settled_workers(server, workers)]
            _load(server, duration_s, token=token, pin=pin, connections=connections, wrk=wrk)
            for entry in entries:
                entry["rss_kib_after_runs"] = resident_kib(entry["pid"])
            memory[spec.name] = entries
    return memory


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@shared_options("memory", rounds=1, quick_rounds=1, quick="1 s of wrk after the warm-up")
@click.option(
    "--venv",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="The serving-only virtualenv: built there, or reused when built from the same source "
    f"[{DEFAULT_VENV}; for another tree's src: {OTHER_TREE_VENV}].",
)
@click.option(
    "--model-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="A directory with a trained model [default: the venv's `spendcast train` in a temp dir].",
)
@click.option("--duration", type=float, default=None, help="Seconds of wrk [3; --quick: 1].")
@click.option("--wrk", "wrk_path", default="wrk", show_default=True, help="wrk executable.")
def main(
    quick: bool, rounds: int, pin: bool, out: Path, venv: Path | None, model_dir: Path | None,
    duration: float | None, wrk_path: str,
) -> None:  # fmt: skip
    """Build (or reuse) the serving-only install and print its workers' memory."""
    if shutil.which(wrk_path) is None:
        raise click.ClickException(f"{wrk_path} not found (apt-get install wrk)")
    duration = duration or (1.0 if quick else 3.0)
    repo = spendcast_source().parent
    venv = build_venv((venv or default_venv(repo)).resolve(), repo)
    pinning = Pinning.for_cpus(sorted(os.sched_getaffinity(0)), enabled=pin)
    rounds_memory: list[dict[str, list[dict[str, Any]]]] = []
    with tempfile.TemporaryDirectory(prefix="spendcast-bench-") as tmp:
        workdir = Path(tmp)
        if model_dir is None:
            model_dir = workdir / "models"
            subprocess.run(
                [venv / "bin" / "spendcast", "train", "--model-dir", str(model_dir)],
                check=True,
                capture_output=True,
            )
        token = secrets.token_urlsafe(16)
        for _ in range(rounds):
            measured = measure(
                venv, model_dir, workdir, token=token, pin=pinning, duration_s=duration,
                wrk=wrk_path,
            )  # fmt: skip
            rounds_memory.append(measured)
    for memory in rounds_memory:
        click.echo(format_table(MEMORY_HEADER, memory_rows(memory)))
    ratios, figures = memory_figures(rounds_memory)
    written = Results("memory", command_line(), rounds, ratios, figures).write(
        out, {"tree": str(repo), "venv": str(venv), "memory": rounds_memory}
    )
    click.echo(f"\nwrote {written}", err=True)


def memory_figures(
    rounds: list[dict[str, list[dict[str, Any]]]],
) -> tuple[dict[str, Ratio], dict[str, tuple[float, ...]]]:
    """Each worker's RSS after the runs (MiB), and after the runs / after the warm-up, one
    value per round."""
    after: dict[str, list[float]] = {}
    growth: dict[str, list[float]] = {}
    for memory in rounds:
        for server, workers in memory.items():
            for number, worker in enumerate(workers, start=1):
                name = f"{server} worker {number}"
                after.setdefault(f"{name}: rss MiB after the runs", []).append(
                    round(worker["rss_kib_after_runs"] / 1024, 1)
                )
                growth.setdefault(f"{name}: rss after the runs / warm", []).append(
                    worker["rss_kib_after_runs"] / worker["rss_kib_after_warmup"]
                )
    ratios = {name: Ratio.of(values) for name, values in growth.items()}
    return ratios, {name: tuple(values) for name, values in after.items()}


if __name__ == "__main__":
    main()
