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
import logging
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

logger = logging.getLogger(__name__)

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


@dataclass(frozen=True)
class Encoded:
    """A fitted pipeline as a store keeps it: its version, skops bytes and JSON metadata."""

    version: str
    data: bytes
    metadata: Mapping[str, Any]

    @property
    def created_at(self) -> str:
        return str(self.metadata["created_at"])

    @property
    def metrics(self) -> dict[str, float]:
        return dict(self.metadata["metrics"])


def encode(pipeline: Any, metrics: Mapping[str, float]) -> Encoded:
    """The skops bytes of ``pipeline``, versioned by their hash, and their metadata."""
    import sklearn
    import skops
    import skops.io

    data = skops.io.dumps(pipeline)
    version = hashlib.sha256(data).hexdigest()[:12]
    metadata = {
        "version": version,
        "artifact": f"spendcast-{version}.skops",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "features": list(FEATURES),
        "education_levels": list(EDUCATION_LEVELS),
        "sklearn_version": sklearn.__version__,
        "skops_version": skops.__version__,
        "metrics": dict(metrics),
    }
    return Encoded(version, data, metadata)


def save(pipeline: Any, model_dir: Path, metrics: Mapping[str, float]) -> ModelVersion:
    """Write the pipeline and its metadata, then point ``CURRENT`` at it."""
    return write(model_dir, encode(pipeline, metrics))


def write(model_dir: Path, encoded: Encoded) -> ModelVersion:
    """Write an encoded model's two files, then point ``CURRENT`` at it."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    version = encoded.version
    _write_atomically(artifact_path(model_dir, version), encoded.data)
    text = json.dumps(dict(encoded.metadata), indent=2) + "\n"
    _write_atomically(metadata_path(model_dir, version), text.encode())
    _write_atomically(model_dir / POINTER, f"{version}\n".encode())
    return ModelVersion(
        version, artifact_path(model_dir, version), encoded.metrics, encoded.created_at
    )


def keep_copy(model_dir: Path, version: str, data: bytes) -> None:
    """A local copy of an artifact read from elsewhere, if the directory takes it (a copy
    only helps a restart while the store is out of reach: failing to keep it is no error)."""
    path = artifact_path(model_dir, version)
    if path.exists():
        return
    try:
        Path(model_dir).mkdir(parents=True, exist_ok=True)
        _write_atomically(path, data)
    except OSError as error:
        logger.warning("cannot keep a copy of model %s in %s: %s", version, model_dir, error)


def saved_versions(model_dir: Path) -> list[str]:
    """Every version with an artifact in ``model_dir``, the newest first."""
    found = []
    for path in Path(model_dir).glob("spendcast-*.skops"):
        version = path.stem.removeprefix("spendcast-")
        if VERSION_PATTERN.fullmatch(version):
            try:
                found.append((path.stat().st_mtime, version))
            except OSError:
                continue  # removed meanwhile
    return [version for _, version in sorted(found, reverse=True)]


def read_artifact(model_dir: Path, version: str) -> bytes:
    """The skops bytes of ``version``; ``ModelNotFoundError`` when they are not there."""
    if not VERSION_PATTERN.fullmatch(version):
        raise ModelNotFoundError(f"{version!r} is not a model version (12 hex digits)")
    path = artifact_path(model_dir, version)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ModelNotFoundError(
            f"model {version} is missing ({path}): run `spendcast train --model-dir {model_dir}`"
        ) from None
    except OSError as error:
        raise ModelError(f"cannot read {path}: {error}") from error


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
    model_dir = Path(model_dir)
    if version is None:
        version = current_version(model_dir)
        if version is None:
            raise ModelNotFoundError(
                f"no trained model in {model_dir}: run `spendcast train --model-dir {model_dir}`"
            )
    data = read_artifact(model_dir, version)
    return pipeline_from_bytes(data, version, str(artifact_path(model_dir, version))), version


def load_predictor(model_dir: Path, version: str | None = None) -> Predictor:
    """The compiled predictor of ``version``, or of the current model when None."""
    pipeline, version = load_pipeline(model_dir, version)
    return Predictor.from_pipeline(pipeline, version)


def check_version(data: bytes, version: str, where: str) -> None:
    """``ModelError`` unless ``data`` hashes to ``version`` (cheap: no skops, no sklearn)."""
    if hashlib.sha256(data).hexdigest()[:12] != version:
        raise ModelError(f"{where} does not match its version: the file was altered")


def pipeline_from_bytes(data: bytes, version: str, where: str) -> Any:
    """The pipeline in ``data``, checked against its version and the allow-list first."""
    import skops.io

    check_version(data, version, where)
    types = _schema_types(data, where)
    untrusted = set(skops.io.get_untrusted_types(data=data))
    refused = sorted((untrusted | types) - ALLOWED_TYPES)
    if refused:
        raise UntrustedModelError(f"{where} holds types outside the allow-list: {refused}")
    return skops.io.loads(data, trusted=sorted(untrusted))


def predictor_from_bytes(data: bytes, version: str, where: str) -> Predictor:
    """The compiled predictor of the artifact bytes ``data``."""
    return Predictor.from_pipeline(pipeline_from_bytes(data, version, where), version)


def _schema_types(data: bytes, path: Path | str) -> set[str]:
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
