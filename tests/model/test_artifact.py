from __future__ import annotations

import hashlib
import json
import re
import threading
from pathlib import Path

import numpy as np
import pytest
import sklearn
import skops.io
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from spendcast.errors import ModelError, ModelNotFoundError, UntrustedModelError
from spendcast.model.artifact import (
    POINTER,
    artifact_path,
    current_version,
    load_pipeline,
    load_predictor,
    prune,
    read_metadata,
    save,
)
from spendcast.model.training import TrainedModel, train_and_save
from spendcast.settings import Settings


class Spending:
    """A custom class: its module is not on the allow-list."""

    def __init__(self) -> None:
        self.weights = [0.12, 35.0]


def _save(trained: TrainedModel, model_dir: Path) -> str:
    return save(trained.pipeline, model_dir, trained.metrics.as_dict()).version


def test_save_writes_artifact_metadata_and_pointer(trained: TrainedModel, tmp_path: Path) -> None:
    saved = save(trained.pipeline, tmp_path / "models", trained.metrics.as_dict())
    data = saved.path.read_bytes()
    assert saved.version == hashlib.sha256(data).hexdigest()[:12]
    assert saved.path == tmp_path / "models" / f"spendcast-{saved.version}.skops"
    assert (tmp_path / "models" / POINTER).read_text() == f"{saved.version}\n"
    metadata = read_metadata(tmp_path / "models", saved.version)
    assert metadata["metrics"] == trained.metrics.as_dict()
    assert metadata["sklearn_version"] == sklearn.__version__
    assert metadata["created_at"] == saved.created_at
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == sorted(
        [POINTER, saved.path.name, f"spendcast-{saved.version}.json"]
    )
    assert not data.startswith(b"\x80")  # a zip (skops), not a pickle stream


def test_current_version_is_none_without_a_model(tmp_path: Path) -> None:
    assert current_version(tmp_path) is None
    assert current_version(tmp_path / "absent") is None


def test_a_corrupt_pointer_is_an_error(tmp_path: Path) -> None:
    (tmp_path / POINTER).write_text("../../etc/passwd\n")
    with pytest.raises(ModelError, match="does not hold a model version"):
        current_version(tmp_path)


def test_load_the_latest_or_a_given_version(trained: TrainedModel, tmp_path: Path) -> None:
    first = _save(trained, tmp_path)
    second = _save(trained, tmp_path)  # skops bytes differ between dumps: a new version
    assert first != second
    assert current_version(tmp_path) == second
    assert load_predictor(tmp_path).version == second
    older = load_predictor(tmp_path, first)
    assert older.version == first
    row = np.array([[42, "PhD", 50_000.0]], dtype=object)
    pipeline, version = load_pipeline(tmp_path)
    assert version == second
    assert pipeline.predict(row)[0] == trained.pipeline.predict(row)[0]
    assert older.predict_one("PhD", 42, 50_000.0) == pytest.approx(pipeline.predict(row)[0])


def test_a_missing_model_says_to_run_train(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="run `spendcast train"):
        load_predictor(tmp_path)
    with pytest.raises(ModelNotFoundError, match="run `spendcast train"):
        load_predictor(tmp_path, "0123456789ab")
    with pytest.raises(ModelNotFoundError, match="not a model version"):
        load_predictor(tmp_path, "../secrets")


def test_an_altered_artifact_is_refused(trained: TrainedModel, tmp_path: Path) -> None:
    version = _save(trained, tmp_path)
    path = artifact_path(tmp_path, version)
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(ModelError, match="altered"):
        load_predictor(tmp_path)


def _plant(tmp_path: Path, obj: object) -> str:
    """Write an artifact the way an attacker with write access to the model dir would."""
    data = skops.io.dumps(obj)
    version = hashlib.sha256(data).hexdigest()[:12]
    artifact_path(tmp_path, version).write_bytes(data)
    (tmp_path / POINTER).write_text(version)
    return version


def test_a_function_inside_the_pipeline_is_refused(tmp_path: Path) -> None:
    x, y = np.arange(6.0).reshape(3, 2), np.arange(3.0)
    crafted = Pipeline([("f", FunctionTransformer(np.log1p)), ("r", LinearRegression())]).fit(x, y)
    assert skops.io.get_untrusted_types(data=skops.io.dumps(crafted)) == []  # skops trusts it
    _plant(tmp_path, crafted)
    with pytest.raises(UntrustedModelError) as error:
        load_predictor(tmp_path)
    assert "numpy.log1p" in str(error.value)
    assert "sklearn.preprocessing._function_transformer.FunctionTransformer" in str(error.value)


def test_a_custom_class_is_refused(tmp_path: Path) -> None:
    _plant(tmp_path, Spending())
    with pytest.raises(UntrustedModelError, match=re.escape(f"{__name__}.Spending")):
        load_pipeline(tmp_path)


def test_a_file_that_is_not_skops_is_refused(tmp_path: Path) -> None:
    data = b"\x80\x04not a zip"
    version = hashlib.sha256(data).hexdigest()[:12]
    artifact_path(tmp_path, version).write_bytes(data)
    with pytest.raises(ModelError, match="not a skops artifact"):
        load_pipeline(tmp_path, version)


def test_a_poller_never_sees_a_partial_pointer(trained: TrainedModel, tmp_path: Path) -> None:
    first = _save(trained, tmp_path)
    seen: set[str | None] = set()
    errors: list[BaseException] = []
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            try:
                seen.add(current_version(tmp_path))
            except BaseException as error:  # collected, asserted below
                errors.append(error)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        versions = {first} | {_save(trained, tmp_path) for _ in range(15)}
    finally:
        done.set()
        poller.join()
    assert errors == []
    assert seen <= versions
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert json.loads((tmp_path / f"spendcast-{first}.json").read_text())["version"] == first


def test_training_keeps_the_newest_models_and_the_current_one(tmp_path: Path) -> None:
    settings = Settings(model_dir=tmp_path, model_keep=2)
    versions = [train_and_save(settings, seed=seed).version for seed in range(3)]
    assert len(set(versions)) == 3
    assert sorted(tmp_path.glob("spendcast-*")) == sorted(
        path for version in versions[-2:] for path in _files(tmp_path, version)
    )
    assert current_version(tmp_path) == versions[-1]

    # The current version is kept even when it is not among the newest (a pointer set back).
    (tmp_path / POINTER).write_text(f"{versions[-2]}\n")
    assert prune(tmp_path, 1) == [versions[-1]]
    assert sorted(tmp_path.glob("spendcast-*")) == sorted(_files(tmp_path, versions[-2]))


def _files(model_dir: Path, version: str) -> list[Path]:
    return [artifact_path(model_dir, version), model_dir / f"spendcast-{version}.json"]
