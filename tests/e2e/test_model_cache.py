"""``SPENDCAST_MODEL_CACHE_DIR``: the models ``spendcast serve`` compiled, kept between starts.

A start on a model compiled before serves what the cache holds for those bytes and that
compiler, without loading the artifact again: shown by planting, under the artifact's name, a
predictor whose answers differ from the artifact's. A cache directory another user could write
is refused in one line (exit 2), since what it holds is served without the artifact's checks.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from spendcast.model.loader import compiler_tag
from tests.support.server import MODEL_CACHE, free_port, running_server

pytestmark = pytest.mark.e2e

LAB_URL = "/predict?education=PhD&age=42&income=50000"


def _artifact(workdir: Path) -> tuple[str, bytes]:
    models = workdir / "models"
    version = (models / "CURRENT").read_text().strip()
    return version, (models / f"spendcast-{version}.skops").read_bytes()


def _prediction(url: str) -> float:
    answer = httpx.get(url + LAB_URL, timeout=10)
    assert answer.status_code == 200, answer.text
    return float(answer.json())


def test_a_start_on_a_model_compiled_before_serves_the_kept_predictor(
    workdir: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    env = {MODEL_CACHE: str(cache)}
    with running_server(workdir, extra_env=env) as server:
        served = _prediction(server.url)
    version, data = _artifact(workdir)
    kept = cache / f"{hashlib.sha256(data).hexdigest()}-{compiler_tag()}.json"
    assert sorted(p.name for p in cache.iterdir()) == [kept.name]
    predictor = json.loads(kept.read_text())
    assert predictor["version"] == version

    predictor["base"]["PhD"] += 1000.0  # no artifact gives this: only the cache can
    kept.write_text(json.dumps(predictor))
    with running_server(workdir, workers=2, extra_env=env) as server:
        assert _prediction(server.url) == pytest.approx(served + 1000.0)

    # Kept by another compiler (other code or library versions): never read; compiled again.
    other = kept.with_name(kept.name.replace(compiler_tag(), "0" * 12))
    kept.rename(other)
    with running_server(workdir, extra_env=env) as server:
        assert _prediction(server.url) == served
    assert json.loads(kept.read_text())["base"]["PhD"] == predictor["base"]["PhD"] - 1000.0


def test_without_a_cache_each_server_keeps_its_models_in_a_directory_removed_with_it(
    workdir: Path, tmp_path: Path
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {MODEL_CACHE: "", "TMPDIR": str(scratch)}
    with running_server(workdir, workers=2, extra_env=env) as server:
        _prediction(server.url)
        made = [p.name for p in scratch.iterdir()]
        assert sum(name.startswith("spendcast-compiled-") for name in made) == 1, made
        assert server.stop() == 0
    assert not [p for p in scratch.iterdir() if p.name.startswith("spendcast-compiled-")]


@pytest.mark.parametrize(
    ("mode", "problem"),
    [
        (0o777, "others may write it (mode 0777): chmod go-w"),
        (0o770, "others may write it (mode 0770): chmod go-w"),
        (None, "not a directory"),
    ],
)
def test_a_cache_others_could_write_is_refused_in_one_line(
    workdir: Path, tmp_path: Path, mode: int | None, problem: str
) -> None:
    cache = tmp_path / "cache"
    if mode is None:
        cache.write_text("a file")
    else:
        cache.mkdir()
        cache.chmod(mode)
    env = {**os.environ, MODEL_CACHE: str(cache)}
    command = [sys.executable, "-m", "spendcast", "serve", "--port", str(free_port())]
    done = subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == f"Error: SPENDCAST_MODEL_CACHE_DIR {cache}: {problem}"
