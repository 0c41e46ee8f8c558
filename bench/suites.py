"""What the benchmark measures: the servers to start, the scenarios run against them, the ratios.

``full`` is the issue's comparison (spendcast 1 and 2 workers, the lab baseline, a bare ASGI
hello on the same stack); ``stacks`` puts the bare hello on each candidate server stack.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.report import Ratio
from bench.servers import PORT, ServerSpec

ROOT = Path(__file__).resolve().parent.parent
HELLO_APP = "bench.hello_asgi:app"
APP_FACTORY = "spendcast.api.app:create_app"


@dataclass(frozen=True)
class Scenario:
    """One wrk run: ``path`` on ``server``; ``query`` randomises the prediction query."""

    name: str
    server: str
    path: str
    query: bool = False
    slow: bool = False  # the lab baseline: fewer connections, shorter runs


@dataclass(frozen=True)
class Pinning:
    """CPU lists for taskset: 1-worker servers, N-worker servers, the load generator."""

    single: str | None
    multi: str | None
    generator: str | None

    @classmethod
    def for_cpus(cls, cpus: list[int], enabled: bool = True) -> Pinning:
        """Server on the first core, generator on the last; N workers get every core."""
        if not enabled or len(cpus) < 2:
            return cls(None, None, None)
        every = ",".join(str(c) for c in cpus)
        return cls(str(cpus[0]), every, str(cpus[-1]))

    def server(self, workers: int) -> str | None:
        return self.single if workers == 1 else self.multi


@dataclass(frozen=True)
class Suite:
    servers: tuple[ServerSpec, ...]
    scenarios: tuple[Scenario, ...]
    ratios: tuple[Ratio, ...]

    def select(self, words: tuple[str, ...]) -> Suite:
        """Only the scenarios whose name holds one of ``words`` (all when empty), their
        servers, and the ratios that can still be computed."""
        if not words:
            return self
        scenarios = tuple(s for s in self.scenarios if any(w in s.name for w in words))
        names = {s.name for s in scenarios}
        servers = {s.server for s in scenarios}
        return Suite(
            tuple(s for s in self.servers if s.name in servers),
            scenarios,
            tuple(r for r in self.ratios if {r.numerator, r.denominator} <= names),
        )


def uvicorn_command(
    app: str, workers: int, loop: str = "uvloop", http: str = "httptools", factory: bool = False
) -> tuple[str, ...]:
    return (
        sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", PORT,
        "--workers", str(workers), "--loop", loop, "--http", http,
        "--log-level", "warning", "--no-access-log", "--backlog", "2048",
        *(("--factory",) if factory else ()),
    )  # fmt: skip


def granian_command(app: str, workers: int, factory: bool = False) -> tuple[str, ...]:
    return (
        sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1",
        "--port", PORT, "--workers", str(workers), "--log-level", "warning",
        "--no-ws", "--backlog", "2048", *(("--factory",) if factory else ()), app,
    )  # fmt: skip


def reuseport_command(app: str, workers: int, factory: bool = False) -> tuple[str, ...]:
    return (
        sys.executable, "-m", "bench.reuseport", app,
        "--port", PORT, "--workers", str(workers), *(("--factory",) if factory else ()),
    )  # fmt: skip


def train_model(model_dir: Path) -> None:
    """A model trained into ``model_dir`` by the installed spendcast."""
    subprocess.run(
        [sys.executable, "-m", "spendcast", "train", "--model-dir", str(model_dir)],
        check=True,
        capture_output=True,
    )


def spendcast_env(workdir: Path, model_dir: Path, token: str) -> dict[str, str]:
    """A benchmarked spendcast's settings: ``model_dir``'s model, its database, API log and
    journal in ``workdir``, ``token`` required."""
    return {
        "SPENDCAST_MODEL_DIR": str(model_dir.resolve()),
        "SPENDCAST_DATABASE_URL": f"sqlite:///{workdir / 'spendcast.db'}",
        "SPENDCAST_LOG_FILE": str(workdir / "api_logfile.log"),
        "SPENDCAST_JOURNAL_DIR": str(workdir / "journal"),
        "SPENDCAST_API_TOKEN": token,
    }


def serve_stack_command(app: str, workers: int) -> tuple[str, ...]:
    """``app`` on the server stack of ``spendcast serve`` (``bench/serve_stack.py``)."""
    return (
        sys.executable, "-m", "bench.serve_stack", app,
        "--port", PORT, "--workers", str(workers),
    )  # fmt: skip


def hello_command(stack: str, workers: int) -> tuple[str, ...]:
    if stack == "serve":
        return serve_stack_command(HELLO_APP, workers)
    if stack == "granian":
        return granian_command(HELLO_APP, workers)
    if stack == "reuseport":
        return reuseport_command(HELLO_APP, workers)
    return uvicorn_command(HELLO_APP, workers)


def full_suite(
    pin: Pinning, spendcast_env: Mapping[str, str], lab_env: Mapping[str, str], workdir: Path,
    stack: str = "serve",
) -> Suite:  # fmt: skip
    """spendcast /health and /predict with 1 and 2 workers (pinned, and 2 unpinned), the lab
    baseline, the bare hello."""

    def spendcast(workers: int, pinned: bool = True) -> ServerSpec:
        serve = ("serve", "--host", "127.0.0.1", "--port", PORT, "--workers", str(workers))
        return ServerSpec(
            name=f"spendcast-{workers}w" + ("" if pinned else "-unpinned"),
            command=(sys.executable, "-m", "spendcast", *serve)
            + (("--pin-workers",) if pinned else ()),
            workers=workers,
            cpus=pin.server(workers),
            ready_path="/ready",
            env=spendcast_env,
            cwd=workdir,
        )

    lab = ServerSpec(
        name="lab-1w",
        # The lab as it ships: plain `uvicorn app:app`, default loop/protocol, access log on.
        command=(
            sys.executable,
            "-m",
            "uvicorn",
            "examples.lab_baseline.app:app",
            "--host",
            "127.0.0.1",
            "--port",
            PORT,
        ),
        cpus=pin.server(1),
        ready_path="/ready",
        env=lab_env,
        cwd=ROOT,
    )
    hello = ServerSpec(
        name="hello-1w", command=hello_command(stack, 1), cpus=pin.server(1), cwd=ROOT
    )
    scenarios = (
        Scenario("hello 1w", "hello-1w", "/health"),
        Scenario("health 1w", "spendcast-1w", "/health"),
        Scenario("predict 1w", "spendcast-1w", "/predict", query=True),
        Scenario("health 2w", "spendcast-2w", "/health"),
        Scenario("predict 2w", "spendcast-2w", "/predict", query=True),
        Scenario("predict 2w unpinned", "spendcast-2w-unpinned", "/predict", query=True),
        Scenario("lab predict 1w", "lab-1w", "/predict", query=True, slow=True),
    )
    ratios = (
        Ratio("predict / health, 1 worker", "predict 1w", "health 1w", 0.85),
        Ratio("predict / health, 2 workers", "predict 2w", "health 2w", 0.85),
        Ratio("spendcast predict / lab predict, 1 worker", "predict 1w", "lab predict 1w", 100),
        Ratio("spendcast predict 2w / lab predict 1w", "predict 2w", "lab predict 1w", 100),
        Ratio("predict 2 workers / 1 worker", "predict 2w", "predict 1w", 1.5),
        # Why 2w / 1w is what it is: the server CPU the machine gave 2 workers beside wrk
        # (on 2 cores, wrk shares the second worker's), times what each CPU-second served.
        Ratio(
            "predict 2w / 1w, server CPU the machine gave",
            "predict 2w",
            "predict 1w",
            figure="server_cpu_s",
        ),
        Ratio(
            "predict 2w / 1w, requests per server CPU-second",
            "predict 1w",
            "predict 2w",
            0.9,
            figure="cpu_us_per_request",
        ),
        # What the machine allows: its cores at the run's server + wrk CPU per request.
        Ratio(
            "predict 2w / 1w, the machine's ceiling",
            "predict 2w",
            "predict 1w",
            figure="ceiling_rps",
            denominator_figure="rps",
        ),
        Ratio(
            "predict 2w, share of that ceiling served",
            "predict 2w",
            "predict 2w",
            0.9,
            denominator_figure="ceiling_rps",
        ),
        Ratio("predict 2w, pinned / unpinned", "predict 2w", "predict 2w unpinned"),
        Ratio("health 2 workers / 1 worker", "health 2w", "health 1w"),
        Ratio("spendcast health / bare ASGI hello", "health 1w", "hello 1w"),
        Ratio("predict / hello, req/s, 1 worker", "predict 1w", "hello 1w", 0.5),
        Ratio(
            "predict / hello, CPU per request, 1 worker",
            "predict 1w",
            "hello 1w",
            2.0,
            figure="cpu_us_per_request",
            at_most=True,
        ),
    )
    servers = (hello, spendcast(1), spendcast(2), spendcast(2, pinned=False), lab)
    return Suite(servers, scenarios, ratios)


def spendcast_stacks_suite(pin: Pinning, spendcast_env: Mapping[str, str], workdir: Path) -> Suite:
    """spendcast's /predict under ``spendcast serve`` (uvicorn, one SO_REUSEPORT socket per
    worker), granian, and plain ``uvicorn --workers`` (one socket shared by the workers)."""
    env = {
        **spendcast_env,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(workdir / "metrics"),
    }
    (workdir / "metrics").mkdir(exist_ok=True)
    serve = (sys.executable, "-m", "spendcast", "serve", "--host", "127.0.0.1", "--port", PORT)
    candidates: dict[str, tuple[tuple[str, ...], int]] = {}
    for workers in (1, 2):
        candidates[f"serve-{workers}w"] = ((*serve, "--workers", str(workers)), workers)
        candidates[f"granian-{workers}w"] = (granian_command(APP_FACTORY, workers, True), workers)
    candidates["shared-socket-2w"] = (uvicorn_command(APP_FACTORY, 2, factory=True), 2)
    servers = tuple(
        ServerSpec(
            name=name,
            command=command,
            workers=workers,
            cpus=pin.server(workers),
            ready_path="/ready",
            env=env,
            cwd=workdir,
        )
        for name, (command, workers) in candidates.items()
    )
    scenarios = tuple(Scenario(name, name, "/predict", query=True) for name in candidates)
    ratios = (
        Ratio("granian / serve, 1w", "granian-1w", "serve-1w"),
        Ratio("granian / serve, 2w", "granian-2w", "serve-2w"),
        Ratio("shared socket / serve, 2w", "shared-socket-2w", "serve-2w"),
        Ratio("serve 2w / 1w", "serve-2w", "serve-1w", 1.5),
        Ratio("granian 2w / 1w", "granian-2w", "granian-1w", 1.5),
    )
    return Suite(servers, scenarios, ratios)


def stacks_suite(pin: Pinning) -> Suite:
    """The bare hello on each candidate server stack, 1 and 2 workers."""
    candidates: dict[str, tuple[tuple[str, ...], int]] = {
        "uvicorn-1w": (uvicorn_command(HELLO_APP, 1), 1),
        "uvicorn-asyncio-h11-1w": (uvicorn_command(HELLO_APP, 1, "asyncio", "h11"), 1),
        "granian-1w": (granian_command(HELLO_APP, 1), 1),
        "uvicorn-2w": (uvicorn_command(HELLO_APP, 2), 2),
        "uvicorn-asyncio-h11-2w": (uvicorn_command(HELLO_APP, 2, "asyncio", "h11"), 2),
        "reuseport-2w": (reuseport_command(HELLO_APP, 2), 2),
        "granian-2w": (granian_command(HELLO_APP, 2), 2),
    }
    servers = tuple(
        ServerSpec(name=name, command=command, workers=workers, cpus=pin.server(workers), cwd=ROOT)
        for name, (command, workers) in candidates.items()
    )
    scenarios = tuple(Scenario(name, name, "/health") for name in candidates)
    ratios = (
        Ratio("uvicorn asyncio+h11 / uvloop+httptools, 1w", "uvicorn-asyncio-h11-1w", "uvicorn-1w"),
        Ratio("granian / uvicorn, 1w", "granian-1w", "uvicorn-1w"),
        Ratio("uvicorn 2w / 1w", "uvicorn-2w", "uvicorn-1w", 1.5),
        Ratio("asyncio+h11 2w / 1w", "uvicorn-asyncio-h11-2w", "uvicorn-asyncio-h11-1w", 1.5),
        Ratio("reuseport 2w / uvicorn 1w", "reuseport-2w", "uvicorn-1w", 1.5),
        Ratio("granian 2w / 1w", "granian-2w", "granian-1w", 1.5),
        Ratio("granian 2w / reuseport 2w", "granian-2w", "reuseport-2w"),
    )
    return Suite(servers, scenarios, ratios)
