"""The model store in PostgreSQL: the database every replica already shares.

Two tables, created on first use under an advisory lock (two replicas starting together)::

    spendcast_model_artifacts   version (primary key), skops bytes, metadata JSON, created_at
    spendcast_model_history     id (identity), version, made_current_at: one row per publish

The current version is the history's newest row (highest id). A publish inserts the artifact
(kept if the version is already there) and a history row in one transaction, so a reader
never sees a version without its bytes; two publishes at once both commit, and every reader
then agrees on the one with the higher id. Nothing is ever deleted: the history is the list
of fall-backs of a worker whose current version does not load.

Each artifact read is also written to a local directory (``copies``, the model directory):
a worker (re)starting while the database is out of reach starts on the newest of them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Final

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    ForeignKey,
    Identity,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import SQLAlchemyError

from spendcast.errors import ModelNotFoundError, ModelStoreError, RecorderError
from spendcast.model.artifact import VERSION_PATTERN, Encoded, ModelVersion, keep_copy
from spendcast.monitoring.database import make_engine

if TYPE_CHECKING:
    from spendcast.model.store import DirectoryStore

SCHEMA_LOCK: Final = 0x5370_656E_6463_6173  # any constant: "Spendcas"
metadata = MetaData()
artifacts = Table(
    "spendcast_model_artifacts",
    metadata,
    Column("version", String(12), primary_key=True),
    Column("data", LargeBinary, nullable=False),
    Column("metadata", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
history = Table(
    "spendcast_model_history",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("version", String(12), ForeignKey(artifacts.c.version), nullable=False),
    Column("made_current_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


class PostgresStore:
    """Artifacts and the current version in a PostgreSQL database."""

    def __init__(self, url: str, copies: DirectoryStore) -> None:
        self.copies = copies
        try:
            self.engine = make_engine(url)
        except RecorderError as error:
            raise ModelStoreError(f"{error} (SPENDCAST_MODEL_STORE)") from None
        if self.engine.dialect.name != "postgresql":
            raise ModelStoreError(
                "SPENDCAST_MODEL_STORE must be a directory or a postgresql+psycopg:// URL"
            )
        self.location = self.engine.url.render_as_string(hide_password=True)
        self._schema_ready = False

    def current(self) -> str | None:
        query = select(history.c.version).order_by(history.c.id.desc()).limit(1)
        with self._connect() as connection:
            version: str | None = connection.execute(query).scalar()
        return version

    def read(self, version: str) -> bytes:
        if not VERSION_PATTERN.fullmatch(version):
            raise ModelNotFoundError(f"{version!r} is not a model version (12 hex digits)")
        with self._connect() as connection:
            data = connection.execute(
                select(artifacts.c.data).where(artifacts.c.version == version)
            ).scalar()
        if data is None:
            raise ModelNotFoundError(f"model {version} is not in {self.location}")
        keep_copy(self.copies.model_dir, version, bytes(data))
        return bytes(data)

    def publish(self, encoded: Encoded) -> ModelVersion:
        row = {
            "version": encoded.version,
            "data": encoded.data,
            "metadata": json.dumps(dict(encoded.metadata)),
        }
        with self._connect() as connection, connection.begin():
            connection.execute(insert(artifacts).values(row).on_conflict_do_nothing())
            connection.execute(history.insert().values(version=encoded.version))
        where = Path(f"{self.location}#{encoded.version}")
        return ModelVersion(encoded.version, where, encoded.metrics, encoded.created_at)

    def history(self) -> list[str]:
        newest = func.max(history.c.id)
        query = select(history.c.version).group_by(history.c.version).order_by(newest.desc())
        with self._connect() as connection:
            return list(connection.execute(query).scalars())

    def offline_copy(self) -> DirectoryStore:
        return self.copies

    def close(self) -> None:
        self.engine.dispose()

    def _connect(self) -> _Guarded:
        return _Guarded(self)


class _Guarded:
    """A connection whose database errors become ``ModelStoreError`` (the store is out of
    reach: the caller keeps what it has), the schema created on the first one."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store
        self.connection: Connection | None = None

    def __enter__(self) -> Connection:
        try:
            self.connection = self.store.engine.connect()
            if not self.store._schema_ready:
                _create_schema(self.connection)
                self.store._schema_ready = True
        except SQLAlchemyError as error:
            self._close()
            raise _unreachable(self.store, error) from None
        return self.connection

    def __exit__(self, kind: object, error: BaseException | None, trace: object) -> None:
        self._close()
        if isinstance(error, SQLAlchemyError):
            raise _unreachable(self.store, error) from None

    def _close(self) -> None:
        if self.connection is not None:
            self.connection.close()


def _create_schema(connection: Connection) -> None:
    with connection.begin():
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
        metadata.create_all(connection, checkfirst=True)


def _unreachable(store: PostgresStore, error: SQLAlchemyError) -> ModelStoreError:
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    return ModelStoreError(f"model store {store.location} unreachable: {reason}")
