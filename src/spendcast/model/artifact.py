"""Model artifacts on disk: skops files named by content hash, and a ``CURRENT`` pointer.

A model directory holds, per version (the first 12 hex digits of the sha256 of the skops
bytes)::

    spendcast-<version>.skops   the fitted pipeline (skops format, never pickle)
    spendcast-<version>.json    metrics, creation time, library versions
    CURRENT                     the version served, replaced atomically after both files exist

Loading refuses any type outside ``ALLOWED_TYPES`` before anything is instantiated. ``prune``
keeps the newest versions (and always the current one) so that retraining does not fill the disk.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from spendcast.errors import ModelError, ModelNotFoundError, UntrustedModelError
from spendcast.model.predictor import Predictor
from spendcast.model.schema import EDUCATION_LEVELS, FEATURES

POINTER: Final = "CURRENT"
VERSION_PATTERN: Final = re.compile(r"[0-9a-f]{12}")

# Every type a trained spendcast pipeline is made of, and nothing else: no functions,
# no custom classes. Checked against the artifact's whole schema, not only skops' own
# notion of "untrusted" (which trusts any scikit-learn estimator and any numpy function).
ALLOWED_TYPES: Final = frozenset(
    {
        "builtins.bool",
        "builtins.dict",
        "builtins.float",
        "builtins.int",
        "builtins.list",
        "builtins.NoneType",
        "builtins.slice",
        "builtins.str",
        "builtins.tuple",
        "numpy.dtype",
        "numpy.float64",
        "numpy.int64",
        "numpy.ndarray",
        "numpy.object_",
        "sklearn.compose._column_transformer.ColumnTransformer",
        "sklearn.linear_model._base.LinearRegression",
        "sklearn.pipeline.Pipeline",
        "sklearn.preprocessing._data.StandardScaler",
        "sklearn.preprocessing._encoders.OrdinalEncoder",
    }
)


@dataclass(frozen=True)
class ModelVersion:
    """One saved model: its version, artifact file and evaluation metrics."""

    version: str
    path: Path
    metrics: Mapping[str, float] = field(default_factory=dict)
    created_at: str = ""


def artifact_path(model_dir: Path, version: str) -> Path:
    return Path(model_dir) / f"spendcast-{version}.skops"


def metadata_path(model_dir: Path, version: str) -> Path:
    return Path(model_dir) / f"spendcast-{version}.json"


def save(pipeline: Any, model_dir: Path, metrics: Mapping[str, float]) -> ModelVersion:
    """Write the pipeline and its metadata, then point ``CURRENT`` at it."""
    import sklearn
    import skops
    import skops.io

    data = skops.io.dumps(pipeline)
    version = hashlib.sha256(data).hexdigest()[:12]
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    created_at = datetime.now(UTC).isoformat(timespec="seconds")
    metadata = {
        "version": version,
        "artifact": artifact_path(model_dir, version).name,
        "created_at": created_at,
        "features": list(FEATURES),
        "education_levels": list(EDUCATION_LEVELS),
        "sklearn_version": sklearn.__version__,
        "skops_version": skops.__version__,
        "metrics": dict(metrics),
    }
    _write_atomically(artifact_path(model_dir, version), data)
    text = json.dumps(metadata, indent=2) + "\n"
    _write_atomically(metadata_path(model_dir, version), text.encode())
    _write_atomically(model_dir / POINTER, f"{version}\n".encode())
    return ModelVersion(version, artifact_path(model_dir, version), dict(metrics), created_at)


def prune(model_dir: Path, keep: int) -> list[str]:
    """Delete every saved version but the ``keep`` newest (by the artifact's modification time)
    and the current one; returns the versions deleted."""
    model_dir = Path(model_dir)
    current = current_version(model_dir)
    found: list[tuple[float, str]] = []
    for path in model_dir.glob("spendcast-*.skops"):
        version = path.stem.removeprefix("spendcast-")
        if VERSION_PATTERN.fullmatch(version) and version != current:
            try:
                found.append((path.stat().st_mtime, version))
            except FileNotFoundError:
                continue  # pruned meanwhile by another worker
    found.sort(reverse=True)
    old = [version for _, version in found[max(keep - (current is not None), 0) :]]
    for version in old:
        artifact_path(model_dir, version).unlink(missing_ok=True)
        metadata_path(model_dir, version).unlink(missing_ok=True)
    return old


def current_version(model_dir: Path) -> str | None:
    """The version ``CURRENT`` points at, or None when nothing was trained (one small read)."""
    try:
        text = (Path(model_dir) / POINTER).read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise ModelError(f"cannot read {Path(model_dir) / POINTER}: {error}") from error
    if not VERSION_PATTERN.fullmatch(text):
        raise ModelError(f"{Path(model_dir) / POINTER} does not hold a model version: {text!r}")
    return text


def read_metadata(model_dir: Path, version: str) -> dict[str, Any]:
    """The JSON metadata saved beside an artifact."""
    loaded: dict[str, Any] = json.loads(metadata_path(model_dir, version).read_text())
    return loaded


def load_pipeline(model_dir: Path, version: str | None = None) -> tuple[Any, str]:
    """The fitted pipeline of ``version`` (the current one when None) and its version."""
    import skops.io

    model_dir = Path(model_dir)
    if version is None:
        version = current_version(model_dir)
        if version is None:
            raise ModelNotFoundError(
                f"no trained model in {model_dir}: run `spendcast train --model-dir {model_dir}`"
            )
    if not VERSION_PATTERN.fullmatch(version):
        raise ModelNotFoundError(f"{version!r} is not a model version (12 hex digits)")
    path = artifact_path(model_dir, version)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelNotFoundError(
            f"model {version} is missing ({path}): run `spendcast train --model-dir {model_dir}`"
        ) from None
    if hashlib.sha256(data).hexdigest()[:12] != version:
        raise ModelError(f"{path} does not match its version: the file was altered")
    types = _schema_types(data, path)
    untrusted = set(skops.io.get_untrusted_types(data=data))
    refused = sorted((untrusted | types) - ALLOWED_TYPES)
    if refused:
        raise UntrustedModelError(f"{path} holds types outside the allow-list: {refused}")
    return skops.io.loads(data, trusted=sorted(untrusted)), version


def load_predictor(model_dir: Path, version: str | None = None) -> Predictor:
    """The compiled predictor of ``version``, or of the current model when None."""
    pipeline, version = load_pipeline(model_dir, version)
    return Predictor.from_pipeline(pipeline, version)


def _schema_types(data: bytes, path: Path) -> set[str]:
    """Every ``module.name`` the skops schema would import, functions included."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            schema = json.loads(archive.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise ModelError(f"{path} is not a skops artifact: {error}") from error
    return {f"{node['__module__']}.{node['__class__']}" for node in _nodes(schema)}


def _nodes(tree: Any) -> Iterator[dict[str, Any]]:
    if isinstance(tree, dict):
        if "__module__" in tree and "__class__" in tree:
            yield tree
        for value in tree.values():
            yield from _nodes(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _nodes(value)


def _write_atomically(path: Path, data: bytes) -> None:
    """Readers see the old file or the new one, never a partial write."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(handle, 0o644)  # mkstemp makes 0600; artifacts are not secrets
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
