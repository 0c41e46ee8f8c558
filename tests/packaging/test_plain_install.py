"""``pip install spendcast`` without extras, in a fresh virtualenv: it trains, serves and predicts;
the kit's commands and a PostgreSQL URL say in one line which extra to install.

The package is built from a copy of the source tree (so the build leaves nothing in the
repository) and installed with pip's cache, as an operator would install it: the memory
benchmark's install (``serving_only_venv``, tests/conftest.py), which its quick run reads too.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from bench import serving_only
from bench.memory import HEAVY, native_packages, resident_kib
from bench.servers import running
from spendcast.monitoring import read_rows
from tests.support.server import free_port, wait_ready

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]

# scipy is in the loadtest extra too, but scikit-learn needs it: a plain install has it.
KIT_ONLY = ("locust", "gevent", "hdrh", "matplotlib", "psycopg")


@pytest.fixture(scope="module")
def plain_venv(serving_only_venv: Path) -> Path:
    """A virtualenv holding ``pip install <repo>``, nothing more (the benchmark's own)."""
    return serving_only_venv


def _env(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPENDCAST_", "VIRTUAL_ENV"))}
    env.pop("PYTHONPATH", None)
    return env | {
        "SPENDCAST_MODEL_DIR": str(workdir / "models"),
        "SPENDCAST_DATABASE_URL": f"sqlite:///{workdir / 'spendcast.db'}",
        "SPENDCAST_LOG_FILE": str(workdir / "api_logfile.log"),
        "SPENDCAST_JOURNAL_DIR": str(workdir / "journal"),
    }


def _run(venv: Path, workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [venv / "bin" / "spendcast", *args],
        cwd=workdir,
        env=_env(workdir),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_kit_and_the_postgres_driver_are_not_installed(plain_venv: Path) -> None:
    probe = "import importlib.util as u, sys; print(*[m for m in sys.argv[1:] if u.find_spec(m)])"
    result = subprocess.run(
        [plain_venv / "bin" / "python", "-c", probe, *KIT_ONLY],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == []


def test_plain_install_trains_serves_and_records_a_prediction(
    plain_venv: Path, tmp_path: Path
) -> None:
    trained = _run(plain_venv, tmp_path, "train")
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert "version:" in trained.stdout

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [plain_venv / "bin" / "spendcast", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=_env(tmp_path),
    )
    try:
        wait_ready(url, server)
        response = httpx.get(f"{url}/predict?education=Master&age=35&income=42000", timeout=10)
        assert response.status_code == 200, response.text
        prediction = response.json()
        docs = httpx.get(f"{url}/docs", timeout=10)
        assert docs.status_code == 200
        assert "swagger-ui-bundle.js" in docs.text
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=60)
    assert code == 0
    rows = read_rows(f"sqlite:///{tmp_path / 'spendcast.db'}")
    assert [(r["education"], r["age"], r["income"], r["prediction"]) for r in rows] == [
        ("Master", 35, 42000.0, prediction)
    ]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_serving_worker_maps_no_training_or_kit_package(
    plain_venv: Path, tmp_path: Path, workers: int
) -> None:
    # scikit-learn, numpy and scipy are installed (training needs them), but a worker only
    # holds the compiled predictor; nothing of the kit is installed at all.
    assert _run(plain_venv, tmp_path, "train").returncode == 0
    token = secrets.token_urlsafe(16)
    env = serving_only.serving_env(tmp_path / "models", tmp_path, token)
    with running(serving_only.serve_spec(plain_venv, workers, env, tmp_path, None), tmp_path) as s:
        for age in range(20, 60):  # a connection each: both workers of two get some
            response = httpx.get(
                f"{s.url}/predict",
                params={"education": "Master", "age": age, "income": 42000},
                headers={"Cookie": f"spendcast_token={token}"},
                timeout=10,
            )
            assert response.status_code == 200, response.text
        pids = serving_only.settled_workers(s, workers)
        for pid in pids:
            mapped = set(native_packages(pid))
            maps = (Path("/proc") / str(pid) / "maps").read_text()
            assert f"{plain_venv.resolve()}/lib/" in maps  # the plain install's, not the dev venv's
            assert {"uvloop", "httptools"} <= mapped  # the detector sees the server's own
            assert not mapped & {*HEAVY, "websockets", "watchfiles"}, mapped
            assert resident_kib(pid) > 0


@pytest.mark.parametrize(
    "args",
    [
        ("loadtest", "--host", "http://127.0.0.1:9", "--duration", "1s"),
        ("capacity", "--host", "http://127.0.0.1:9"),
        ("compare", "--help"),
        ("report", "--help"),
    ],
)
def test_a_kit_command_names_the_extra_in_one_line(
    plain_venv: Path, tmp_path: Path, args: tuple[str, ...]
) -> None:
    result = _run(plain_venv, tmp_path, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert f"spendcast {args[0]} needs the loadtest extra" in lines[0]
    assert "pip install 'spendcast[loadtest]'" in lines[0]


def test_help_lists_every_command_without_the_kit(plain_venv: Path, tmp_path: Path) -> None:
    result = _run(plain_venv, tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    listing = " ".join(result.stdout.split())  # unwrapped
    kit = ("loadtest", "capacity", "compare", "profile", "report", "ui", "history")
    for command in ("train", "serve", *kit):
        assert f" {command} " in listing
    assert listing.count("Needs: pip install 'spendcast[loadtest]'.") == len(kit)


def test_a_postgres_url_without_psycopg_names_the_extra(plain_venv: Path, tmp_path: Path) -> None:
    assert _run(plain_venv, tmp_path, "train").returncode == 0
    env = _env(tmp_path) | {"SPENDCAST_DATABASE_URL": "postgresql+psycopg://u@127.0.0.1/db"}
    result = subprocess.run(
        [plain_venv / "bin" / "spendcast", "serve", "--port", str(free_port())],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "needs the postgres extra" in lines[0]
    assert "pip install 'spendcast[postgres]'" in lines[0]
