"""Where the artifacts and the current version live, for every worker of every replica.

``SPENDCAST_MODEL_STORE`` picks it:

- unset, or a directory: the files of ``artifact.py`` (``CURRENT`` and one artifact per
  version), shared by the workers of one machine (the default: ``SPENDCAST_MODEL_DIR``);
- a PostgreSQL URL (``postgresql+psycopg://...``): the database every replica already shares
  (``pg_store.py``), so that a ``POST /train`` on any replica is the version of all.

A store only moves bytes: checking and compiling them is ``loader.py``'s job, so a worker
reads a store without importing scikit-learn. Every method may raise ``ModelStoreError`` when
the store cannot be reached; ``read`` raises ``ModelNotFoundError`` for a version it lacks.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from spendcast.errors import ModelError, ModelNotFoundError, ModelStoreError
from spendcast.model import artifact
from spendcast.model.artifact import Encoded, ModelVersion
from spendcast.model.loader import load_isolated
from spendcast.model.predictor import Predictor

if TYPE_CHECKING:
    from spendcast.settings import Settings


class ModelStore(Protocol):
    """Artifacts by version and the current version, shared by the servers that use it."""

    location: str

    def current(self) -> str | None:
        """The version to serve, or None when nothing was published."""

    def read(self, version: str) -> bytes:
        """The artifact bytes of ``version``."""

    def publish(self, encoded: Encoded) -> ModelVersion:
        """Keep ``encoded`` and make it the current version (the artifact first)."""

    def history(self) -> list[str]:
        """The versions kept, the most recently current first (the fall-backs of a worker
        whose current version does not load)."""

    def offline_copy(self) -> ModelStore | None:
        """The local copies of the artifacts read so far, to start on while the store is
        out of reach (None for a directory: it is local already)."""

    def close(self) -> None:
        """Release connections (a directory holds none)."""


class DirectoryStore:
    """A model directory: ``CURRENT`` and ``spendcast-<version>.skops`` files."""

    def __init__(self, model_dir: Path) -> None:
        self.model_dir = Path(model_dir)
        self.location = str(self.model_dir)

    def current(self) -> str | None:
        return artifact.current_version(self.model_dir)

    def read(self, version: str) -> bytes:
        return artifact.read_artifact(self.model_dir, version)

    def publish(self, encoded: Encoded) -> ModelVersion:
        try:
            return artifact.write(self.model_dir, encoded)
        except OSError as error:
            raise ModelStoreError(f"cannot write to {self.model_dir}: {error}") from error

    def history(self) -> list[str]:
        return artifact.saved_versions(self.model_dir)

    def offline_copy(self) -> ModelStore | None:
        return None

    def close(self) -> None:
        pass


def open_store(settings: Settings) -> ModelStore:
    """The store ``settings.model_store`` names (``settings.model_dir`` when unset)."""
    where = settings.model_store
    if not where:
        return DirectoryStore(settings.model_dir)
    if "://" not in where:
        return DirectoryStore(Path(where))
    from spendcast.model.pg_store import PostgresStore

    return PostgresStore(where, copies=DirectoryStore(settings.model_dir))


def fetch_predictor(store: ModelStore, version: str | None = None) -> Predictor:
    """The compiled predictor of ``version`` (the current one when None), loaded isolated."""
    if version is None:
        version = store.current()
        if version is None:
            raise ModelNotFoundError(
                f"no trained model in {store.location}: run `spendcast train` first"
            )
    data = store.read(version)
    where = f"model {version} in {store.location}"
    artifact.check_version(data, version, where)  # cheap: no loader for altered bytes
    return load_isolated(data, version, where)


def last_good_predictor(store: ModelStore) -> tuple[Predictor, str | None]:
    """The current model, or else the most recently current one that loads, with why the
    current one was passed over (None when it was not); the newest local copy when the store
    is out of reach. ``ModelError`` when none loads."""
    problem: str | None = None
    try:
        return fetch_predictor(store), None
    except ModelStoreError as error:
        copies = store.offline_copy()
        if copies is None:
            raise
        predictor, _ = last_good_predictor(copies)
        return predictor, str(error)
    except ModelError as error:
        problem = str(error)
    current = store.current()
    for version in store.history():
        if version == current:
            continue
        try:
            return fetch_predictor(store, version), problem
        except ModelStoreError:
            raise
        except ModelError:
            continue
    raise ModelError(f"no model in {store.location} loads: {problem}")
