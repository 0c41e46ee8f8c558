"""The real ``spendcast serve``: several workers, real HTTP, SIGTERM, the database and the log."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from spendcast.model.dataset import generate, write_csv
from spendcast.monitoring import read_rows
from tests.support.server import Server, free_port, running_server, worker_pids

pytestmark = pytest.mark.e2e

TOKEN = "e2e-secret-token-8d3a"
LAB_URL = "/predict?education=PhD&age=12&income=1000"
EDUCATIONS = ("High School", "Bachelor", "Master", "PhD")
Answer = tuple[str, int, float, float, str]


def _query(i: int) -> tuple[str, int, float]:
    return EDUCATIONS[i % 4], 18 + i % 60, 1000.0 + 37.25 * i


async def _predict_concurrently(url: str, calls: int, first: int = 0) -> list[Answer]:
    """``calls`` GET /predict at once, half with the cookie and half with the bearer."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def one(i: int) -> Answer:
            education, age, income = _query(i)
            auth = (
                {"Cookie": f"spendcast_token={TOKEN}"}
                if i % 2
                else {"Authorization": f"Bearer {TOKEN}"}
            )
            params: dict[str, str | int | float] = {
                "education": education,
                "age": age,
                "income": income,
            }
            response = await client.get("/predict", params=params, headers=auth)
            assert response.status_code == 200, response.text
            return education, age, income, response.json(), response.headers["x-model-version"]

        return list(await asyncio.gather(*(one(first + i) for i in range(calls))))


def _model_info(server: Server) -> dict[str, float]:
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    return {
        m.group(1): float(m.group(2))
        for m in re.finditer(r'^spendcast_model_info\{version="([^"]+)"\} (\S+)$', text, re.M)
    }


def _retrain_dataset(workdir: Path) -> Path:
    """Another dataset than the packaged one: training on it gives a new model version."""
    path = workdir / "retrain.csv"
    write_csv(generate(n_rows=300, seed=7), path)
    return path


def _serve_until_exit(
    cwd: Path, env: dict[str, str] | None = None, *options: str
) -> subprocess.CompletedProcess[str]:
    """``spendcast serve`` that must refuse to start: it exits on its own within a minute."""
    command = [sys.executable, "-m", "spendcast", "serve", "--port", str(free_port()), *options]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=60,
                          check=False)  # fmt: skip


def test_two_workers_record_every_call_and_follow_a_retrain(workdir: Path) -> None:
    env = {"SPENDCAST_DATASET_PATH": str(_retrain_dataset(workdir))}
    with running_server(workdir, workers=2, token=TOKEN, extra_env=env) as server:
        lab = httpx.get(server.url + LAB_URL, cookies={"spendcast_token": TOKEN}, timeout=10)
        assert lab.status_code == 200
        old_version = lab.headers["x-model-version"]
        answers: list[Answer] = [("PhD", 12, 1000.0, lab.json(), old_version)]
        assert httpx.get(server.url + LAB_URL, timeout=10).status_code == 401

        answers += asyncio.run(_predict_concurrently(server.url, 200))
        assert {a[4] for a in answers} == {old_version}

        trained = httpx.post(
            f"{server.url}/train", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120
        )
        assert trained.status_code == 200, trained.text
        new_version = trained.json()["version"]
        assert new_version != old_version

        # Every worker has swapped once no live worker reports the old version any more.
        deadline = time.monotonic() + 30
        while _model_info(server) != {old_version: 0.0, new_version: 1.0}:
            assert time.monotonic() < deadline, _model_info(server)
            time.sleep(0.2)
        after = asyncio.run(_predict_concurrently(server.url, 40, first=1000))
        assert {a[4] for a in after} == {new_version}
        answers += after

        assert server.stop() == 0

    rows = read_rows(f"sqlite:///{server.database_path}")
    recorded = sorted(
        (r["education"], r["age"], r["income"], r["prediction"], r["model_version"]) for r in rows
    )
    assert recorded == sorted(answers)

    log = server.log_path.read_text()
    assert TOKEN not in log
    predict_lines = [line for line in log.splitlines() if " GET /predict 200 " in line]
    assert len(predict_lines) == len(answers)
    assert sum(" GET /predict 401 " in line for line in log.splitlines()) == 1
    assert sum(" POST /train 200 " in line for line in log.splitlines()) == 1


@contextmanager
def _allowed_cpus(cpus: set[int]) -> Iterator[None]:
    """Processes started in the block may run on ``cpus`` only (children inherit it)."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _thread_cpus(pid: int) -> set[frozenset[int]]:
    """The CPU set of each thread of ``pid``, once it has pinned itself (a worker does as it
    starts: until then it may run anywhere)."""
    deadline = time.monotonic() + 60
    while True:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        cpus = {frozenset(os.sched_getaffinity(int(task.name))) for task in tasks}
        if all(len(c) == 1 for c in cpus) or time.monotonic() > deadline:
            return cpus
        time.sleep(0.1)


def _workers(server: Server, count: int, gone: int | None = None) -> list[int]:
    """The ``count`` worker processes of ``server`` (``gone`` not among them), once started."""
    deadline = time.monotonic() + 60
    while True:
        pids = worker_pids(server)
        if len(pids) == count and gone not in pids:
            return pids
        assert time.monotonic() < deadline, pids
        time.sleep(0.2)


def test_pinned_workers_keep_one_cpu_each_and_a_restarted_one_takes_the_cpu_left(
    workdir: Path,
) -> None:
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        pytest.skip("pinning workers apart needs 2 CPUs")
    first, second = allowed[:2]
    with (
        _allowed_cpus({first, second}),
        running_server(workdir, workers=2, token=TOKEN, extra_args=("--pin-workers",)) as server,
    ):
        pids = _workers(server, 2)
        cpus = {pid: _thread_cpus(pid) for pid in pids}
        assert sorted(cpus.values(), key=sorted) == [{frozenset({first})}, {frozenset({second})}]
        answers = asyncio.run(_predict_concurrently(server.url, 40))

        # The replacement's slot (the third start) prefers `first`, which the survivor holds:
        # it must take the CPU the dead worker left instead.
        victim = next(pid for pid, threads in cpus.items() if threads == {frozenset({second})})
        os.kill(victim, signal.SIGKILL)
        (survivor,) = set(pids) - {victim}
        (replacement,) = set(_workers(server, 2, gone=victim)) - {survivor}
        assert _thread_cpus(replacement) == {frozenset({second})}
        assert _thread_cpus(survivor) == {frozenset({first})}
        answers += asyncio.run(_predict_concurrently(server.url, 40, first=100))
        assert server.stop() == 0
    rows = read_rows(f"sqlite:///{server.database_path}")
    recorded = [
        (r["education"], r["age"], r["income"], r["prediction"], r["model_version"]) for r in rows
    ]
    assert sorted(recorded) == sorted(answers)  # the killed worker's rows too, from its journal


def test_one_pinned_worker_keeps_one_cpu(workdir: Path) -> None:
    first = min(os.sched_getaffinity(0))
    with running_server(workdir, token=TOKEN, extra_args=("--pin-workers",)) as server:
        assert _thread_cpus(server.process.pid) == {frozenset({first})}
        assert len(asyncio.run(_predict_concurrently(server.url, 10))) == 10
        assert server.stop() == 0


def test_sigint_stops_gracefully_and_flushes(workdir: Path) -> None:
    with running_server(workdir) as server:
        answers = asyncio.run(_predict_concurrently(server.url, 20))
        assert server.stop(sig=signal.SIGINT) == 0
    rows = read_rows(f"sqlite:///{server.database_path}")
    assert len(rows) == len(answers)


def test_serve_refuses_to_start_without_a_model(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPENDCAST_")}
    env["SPENDCAST_MODEL_DIR"] = str(tmp_path / "no-models")
    result = _serve_until_exit(tmp_path, env)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "spendcast train" in result.stderr


def test_serve_exits_1_when_its_worker_cannot_start(workdir: Path) -> None:
    # The journal directory is a file: the worker's lifespan fails, uvicorn never serves.
    (workdir / "journal").write_text("not a directory\n")
    result = _serve_until_exit(workdir)
    assert result.returncode == 1, result.stderr  # 3 is the load test's SLO breach
    assert "Application startup failed" in result.stderr


@pytest.mark.parametrize("url", ["nosuchdb:///x.db", "postgresql+nosuchdriver://h/db", "::"])
def test_serve_refuses_a_database_url_it_cannot_use(workdir: Path, url: str) -> None:
    env = {**os.environ, "SPENDCAST_DATABASE_URL": url}
    result = _serve_until_exit(workdir, env, "--workers", "2")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "SPENDCAST_DATABASE_URL" in result.stderr


@contextmanager
def stripping_proxy(prefix: str, upstream: str) -> Iterator[str]:
    """A tiny reverse proxy that forwards ``{prefix}/x`` to ``{upstream}/x``."""

    class Forward(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if not self.path.startswith(prefix + "/"):
                self.send_error(404)
                return
            response = httpx.get(upstream + self.path[len(prefix) :], timeout=10)
            self.send_response(response.status_code)
            self.send_header("Content-Type", response.headers.get("content-type", ""))
            self.send_header("Content-Length", str(len(response.content)))
            self.end_headers()
            self.wfile.write(response.content)

        def log_message(self, *args: object) -> None:
            pass

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{proxy.server_address[1]}{prefix}"
    finally:
        proxy.shutdown()
        proxy.server_close()


def test_docs_work_behind_a_proxy_that_strips_the_prefix(workdir: Path) -> None:
    with (
        running_server(workdir, extra_args=("--root-path", "/spend")) as server,
        stripping_proxy("/spend", server.url) as public,
    ):
        assert httpx.get(public + LAB_URL, timeout=10).status_code == 200
        spec = httpx.get(f"{public}/openapi.json", timeout=10).json()
        assert spec["servers"] == [{"url": "/spend"}]
        docs = httpx.get(f"{public}/docs", timeout=10)
        assert docs.status_code == 200
        assert "/spend/openapi.json" in docs.text
        assert "/spend/docs/assets/swagger-ui-bundle.js" in docs.text
        assets = httpx.get(f"{public}/docs/assets/swagger-ui-bundle.js", timeout=10)
        assert assets.status_code == 200
        assert httpx.get(f"{public}/", timeout=10).json()["docs"] == "/spend/docs"


@pytest.mark.parametrize(
    "token", ["t\u00e9st-token", "two words", "semi;colon", "tab\there", 'quote"d', "back\\slash"]
)
def test_serve_refuses_a_token_that_cannot_be_sent_in_a_header(workdir: Path, token: str) -> None:
    env = {**os.environ, "SPENDCAST_API_TOKEN": token}
    result = _serve_until_exit(workdir, env)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert result.stderr.startswith("Error: SPENDCAST_API_TOKEN: the token holds ")
    assert token not in result.stderr
    assert "Traceback" not in result.stderr
