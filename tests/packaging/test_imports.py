"""Serving and training never import the kit's or the PostgreSQL driver's modules.

Checked on the real processes with ``python -X importtime``, which lists every module a process
imports: a plain install lacks those modules, so importing one there would fail.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.server import free_port, wait_ready

KIT = ("locust", "gevent", "zmq", "hdrh", "matplotlib", "psycopg")


def _imported(stderr: str) -> set[str]:
    """The modules named by ``-X importtime`` lines (``import time: self | cumulative | name``)."""
    return {
        line.rpartition("|")[2].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def _forbidden(modules: set[str], roots: tuple[str, ...]) -> list[str]:
    loadtest = [
        m for m in modules if m == "spendcast.loadtest" or m.startswith("spendcast.loadtest.")
    ]
    return sorted({m for m in modules if m.partition(".")[0] in roots} | set(loadtest))


def test_importing_the_app_imports_neither_the_kit_nor_the_model_libraries() -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import spendcast.api.app"],
        capture_output=True,
        text=True,
        check=True,
    )
    modules = _imported(result.stderr)
    assert "spendcast.api.app" in modules
    assert _forbidden(modules, (*KIT, "scipy", "sklearn")) == []


def test_train_imports_no_kit_module(tmp_path: Path) -> None:
    command = [sys.executable, "-X", "importtime", "-m", "spendcast", "train"]
    result = subprocess.run(
        [*command, "--model-dir", str(tmp_path / "models")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    modules = _imported(result.stderr)
    assert "spendcast.model.training" in modules
    assert _forbidden(modules, KIT) == []


@pytest.mark.e2e
def test_serve_imports_no_kit_module(workdir: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = workdir / "serve.stderr"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-X", "importtime", "-m", "spendcast", "serve", "--port", str(port)],
            cwd=workdir,
            env=dict(os.environ),
            stderr=stderr,
        )
        try:
            wait_ready(url, process)
            response = httpx.get(f"{url}/predict?education=PhD&age=40&income=30000", timeout=10)
            assert response.status_code == 200
            assert httpx.get(f"{url}/metrics", timeout=10).status_code == 200
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=60)
    output = log.read_text()
    assert code == 0, output[-2000:]
    modules = _imported(output)
    assert "spendcast.api.routes.predict" in modules
    assert _forbidden(modules, KIT) == []
