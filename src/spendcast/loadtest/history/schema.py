"""The history store's tables, and the migrations that bring any older store up to date.

``SCHEMA_VERSION`` is the version this spendcast writes; ``history_schema`` holds the store's.
``prepare`` runs in one transaction that only one process holds at a time (SQLite: ``BEGIN
IMMEDIATE``, set on every transaction by ``store.make_engine``; PostgreSQL: an advisory lock),
so two runs ending at once on a new store create it once. It applies each migration above the
store's version in order; a store whose version is above ours was written by a newer spendcast
and is refused (``HistoryError``), never rewritten.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Double,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    inspect,
    select,
    text,
)

from spendcast.errors import HistoryError

SCHEMA_VERSION: Final = 1
# Held while a PostgreSQL store is created or migrated (any constant, the same for everyone).
_ADVISORY_LOCK: Final = 0x5EDCA57
PERCENTILES: Final = ("p50", "p90", "p95", "p99", "p99_9", "max")

metadata = MetaData()

schema_table = Table("history_schema", metadata, Column("version", Integer, primary_key=True))

runs = Table(
    "history_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uid", String(64), nullable=False, unique=True),  # sha256 of the run's document
    Column("kind", String(16), nullable=False),  # loadtest, capacity, compare, ui
    Column("document", String(16), nullable=False),  # run, capacity, compare
    Column("key", String(64), nullable=False, index=True),
    Column("started_at", String(32), nullable=False, index=True),  # UTC ISO 8601, sortable
    Column("recorded_at", String(32), nullable=False),
    Column("scenario", Text),
    Column("host", Text),
    Column("run_dir", Text, nullable=False),
    Column("command", Text),
    Column("git_commit", String(64)),
    Column("git_dirty", Boolean),
    Column("model_version", String(200)),
    Column("passed", Boolean),
    Column("verdict", Text),
    Column("key_inputs", JSON, nullable=False),
    Column("meta", JSON, nullable=False),
    Column("summary", JSON, nullable=False),  # the run's summary, as compare reads it
)

figures = Table(
    "history_figures",
    metadata,
    Column("run_id", Integer, ForeignKey("history_runs.id", ondelete="CASCADE"),
           primary_key=True),
    Column("endpoint", String(500), primary_key=True),  # total, "GET /predict", ...
    Column("requests", BigInteger),
    Column("failures", BigInteger),
    Column("error_rate", Double),
    Column("rps", Double),
    *(Column(name, Double) for name in PERCENTILES),
)  # fmt: skip

baselines = Table(
    "history_baselines",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("run_id", Integer, ForeignKey("history_runs.id", ondelete="CASCADE"), nullable=False),
    Column("blessed_at", String(32), nullable=False),
)


def _create_v1(connection: Connection) -> None:
    metadata.create_all(connection, tables=[runs, figures, baselines])


# version -> what turns the previous version's store into it.
MIGRATIONS: Final[dict[int, Callable[[Connection], None]]] = {1: _create_v1}


def stored_version(connection: Connection) -> int:
    """The store's schema version: 0 for an empty database."""
    if not inspect(connection).has_table(schema_table.name):
        return 0
    return int(connection.scalar(select(schema_table.c.version)) or 0)


def prepare(connection: Connection, where: str) -> None:
    """Create or migrate the store inside the caller's transaction; refuse a newer one."""
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SELECT pg_advisory_xact_lock({_ADVISORY_LOCK})"))
    version = stored_version(connection)
    if version > SCHEMA_VERSION:
        raise HistoryError(
            f"the history store {where} was written by a newer spendcast (schema {version}; "
            f"this one reads up to {SCHEMA_VERSION}): upgrade spendcast to use it"
        )
    if version == SCHEMA_VERSION:
        return
    if version == 0:
        metadata.create_all(connection, tables=[schema_table])
    for step in range(version + 1, SCHEMA_VERSION + 1):
        MIGRATIONS[step](connection)
    connection.execute(schema_table.delete())
    connection.execute(schema_table.insert().values(version=SCHEMA_VERSION))
