"""The loader process, and the compiled predictors ``spendcast serve`` keeps for its workers.

Each test makes this process look like a serving worker (scikit-learn not imported, so
``load_isolated`` must start a loader) and counts the processes it starts with an audit hook
(``subprocess.Popen`` raises the ``subprocess.Popen`` audit event).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from spendcast.errors import ModelError
from spendcast.model import loader
from spendcast.model.artifact import Encoded, encode
from spendcast.model.dataset import generate
from spendcast.model.training import TrainedModel, train

_started: list[str] | None = None  # the processes started while a test counts them


def _note_process(event: str, args: tuple[object, ...]) -> None:
    if event == "subprocess.Popen" and _started is not None:
        _started.append(str(args[1]))


pytestmark = pytest.mark.slow  # each load imports scikit-learn in a process of its own

sys.addaudithook(_note_process)  # once per process: audit hooks cannot be removed


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The commands of the processes started during the test, in a process that looks like a
    serving worker (no scikit-learn)."""
    global _started
    for name in [n for n in sys.modules if n == "sklearn" or n.startswith("sklearn.")]:
        monkeypatch.delitem(sys.modules, name)  # restored after the test
    _started = []
    try:
        yield _started
    finally:
        _started = None


@pytest.fixture(scope="module")
def model(trained: TrainedModel) -> Encoded:
    return encode(trained.pipeline, trained.metrics.as_dict())


@pytest.fixture(scope="module")
def other_model() -> Encoded:
    retrained = train(generate(), seed=7)
    return encode(retrained.pipeline, retrained.metrics.as_dict())


@pytest.fixture(scope="module")
def refused_model() -> Encoded:
    """A model of a type outside the allow-list."""
    from sklearn.dummy import DummyRegressor

    return encode(DummyRegressor().fit([[0.0]], [1.0]), {})


def test_a_kept_predictor_is_loaded_once_for_the_same_bytes(
    model: Encoded, other_model: Encoded, started: list[str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv(loader.COMPILED_DIR, str(tmp_path))
    first = loader.load_isolated(model.data, model.version, "here")
    assert len(started) == 1
    assert loader.__name__ in started[0]
    assert len(list(tmp_path.glob("*.json"))) == 1
    again = loader.load_isolated(model.data, model.version, "here")
    assert len(started) == 1  # found, not loaded again
    assert again.to_json() == first.to_json()
    assert again.predict_one("PhD", 42, 50_000) == first.predict_one("PhD", 42, 50_000)
    other = loader.load_isolated(other_model.data, other_model.version, "there")
    assert len(started) == 2  # other bytes: a loader of their own
    assert other.version == other_model.version
    assert other.to_json() != first.to_json()
    assert len(list(tmp_path.glob("*.json"))) == 2


def test_a_damaged_kept_predictor_is_loaded_again_and_replaced(
    model: Encoded, started: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(loader.COMPILED_DIR, str(tmp_path))
    first = loader.load_isolated(model.data, model.version, "here")
    (kept,) = tmp_path.glob("*.json")
    kept.write_text('{"version": "trunc')
    again = loader.load_isolated(model.data, model.version, "here")
    assert len(started) == 2
    assert again.to_json() == first.to_json()
    assert loader.load_isolated(model.data, model.version, "here").to_json() == first.to_json()
    assert len(started) == 2  # the rewritten copy is whole


def test_a_model_the_loader_refuses_is_never_kept(
    refused_model: Encoded, started: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = refused_model
    monkeypatch.setenv(loader.COMPILED_DIR, str(tmp_path))
    with pytest.raises(ModelError, match="allow-list"):
        loader.load_isolated(refused.data, refused.version, "here")
    assert len(started) == 1
    assert list(tmp_path.iterdir()) == []
