"""A model artifact holding a type outside skops' trusted allow-list, planted as CURRENT, makes
``spendcast serve`` refuse to start: one clear line on stderr, a non-zero exit, no traceback."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import skops.io
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from spendcast.model.artifact import POINTER, artifact_path
from tests.support.server import free_port

pytestmark = pytest.mark.e2e


def _function_pipeline() -> object:
    """A pipeline calling an arbitrary function: skops itself trusts this one."""
    x, y = np.arange(6.0).reshape(3, 2), np.arange(3.0)
    steps = [("f", FunctionTransformer(np.log1p)), ("r", LinearRegression())]
    return Pipeline(steps).fit(x, y)


CRAFTED = {
    "function-in-pipeline": (_function_pipeline, "numpy.log1p"),
    "untrusted-container": (lambda: {"model": OrderedDict(a=1)}, "collections.OrderedDict"),
}


def _plant(model_dir: Path, obj: object) -> str:
    """What an attacker with write access to the model directory would do."""
    data = skops.io.dumps(obj)
    version = hashlib.sha256(data).hexdigest()[:12]
    artifact_path(model_dir, version).write_bytes(data)
    (model_dir / POINTER).write_text(f"{version}\n")
    return version


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("crafted", list(CRAFTED))
def test_serve_refuses_an_untrusted_model_in_one_line(
    workdir: Path, crafted: str, workers: int
) -> None:
    make, refused_type = CRAFTED[crafted]
    model_dir = Path(os.environ["SPENDCAST_MODEL_DIR"])
    version = _plant(model_dir, make())
    result = subprocess.run(
        [sys.executable, "-m", "spendcast", "serve", "--port", str(free_port()),
         "--workers", str(workers)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert version in lines[0]
    assert refused_type in lines[0]
    assert not (workdir / "spendcast.db").exists()  # it never got as far as serving
