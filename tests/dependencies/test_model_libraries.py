"""skops and scikit-learn internals the model artifact relies on (bounded in pyproject.toml:
skops<0.17, scikit-learn<1.10).

``load_pipeline`` vets an artifact by reading skops' ``schema.json`` (its ``__module__`` /
``__class__`` nodes) against an allow-list of scikit-learn's private module paths.
"""

from __future__ import annotations

import importlib
import io
import json
import zipfile
from pathlib import Path

import pytest
import skops.io

from spendcast.model.artifact import ALLOWED_TYPES, _schema_types, load_pipeline, save
from spendcast.model.dataset import generate
from spendcast.model.training import train


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model_dir = tmp_path_factory.mktemp("model")
    trained = train(generate(n_rows=200))
    return save(trained.pipeline, model_dir, trained.metrics.as_dict()).path


@pytest.mark.parametrize("name", sorted(t for t in ALLOWED_TYPES if t.startswith("sklearn.")))
def test_allowed_scikit_learn_paths_still_import(name: str) -> None:
    module, _, attribute = name.rpartition(".")
    try:
        found = getattr(importlib.import_module(module), attribute, None)
    except ModuleNotFoundError:
        found = None
    assert found is not None, (
        f"scikit-learn moved {name}: update ALLOWED_TYPES in spendcast/model/artifact.py "
        "(saved models name the old path and will be refused)"
    )


def test_skops_schema_json_still_names_every_type(artifact: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(artifact.read_bytes())) as archive:
        assert "schema.json" in archive.namelist(), (
            "skops no longer writes schema.json: load_pipeline reads it to vet a model's types"
        )
        schema = json.loads(archive.read("schema.json"))
    assert "__module__" in schema, "skops changed the __module__/__class__ nodes of schema.json"
    types = _schema_types(artifact.read_bytes(), artifact)
    assert "sklearn.pipeline.Pipeline" in types
    assert types <= ALLOWED_TYPES, (
        f"a trained pipeline now holds types outside the allow-list: {types - ALLOWED_TYPES}"
    )


def test_skops_trusted_loading_keeps_its_signature(artifact: Path) -> None:
    data = artifact.read_bytes()
    untrusted = skops.io.get_untrusted_types(data=data)
    assert isinstance(untrusted, list), "skops changed get_untrusted_types(data=...)"
    pipeline, version = load_pipeline(artifact.parent)
    assert artifact.name == f"spendcast-{version}.skops"
    assert pipeline.predict(generate(n_rows=3).features()).shape == (3,)
