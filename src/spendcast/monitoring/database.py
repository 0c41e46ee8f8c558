"""Engines for the inference log (SQLite by default, PostgreSQL with psycopg 3) and its inserts."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.pool import ConnectionPoolEntry

from spendcast.errors import RecorderError
from spendcast.extras import extra_providing, install_hint
from spendcast.monitoring.table import create_schema, inference_log

SQLITE_BUSY_SECONDS = 30.0
POSTGRES_CONNECT_SECONDS = 2  # so that ``database_ok`` turns false within seconds


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _entry: ConnectionPoolEntry) -> None:
    # busy_timeout first: switching to WAL needs a lock other processes may hold.
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_SECONDS * 1000)}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()


def parse_url(database_url: str) -> URL:
    try:
        return make_url(database_url)
    except ArgumentError as exc:
        raise RecorderError(f"invalid database URL {database_url!r}: {exc}") from exc


def make_engine(database_url: str) -> Engine:
    """An engine for ``sqlite:///file.db`` (WAL, busy timeout) or ``postgresql+psycopg://...``."""
    url = parse_url(database_url)
    backend = url.get_backend_name()
    try:
        if backend == "sqlite":
            if url.database and url.database != ":memory:":
                Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(
                url,
                connect_args={"timeout": SQLITE_BUSY_SECONDS, "check_same_thread": False},
            )
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        if backend == "postgresql":
            return create_engine(
                url,
                pool_pre_ping=True,
                pool_size=2,
                connect_args={"connect_timeout": POSTGRES_CONNECT_SECONDS},
            )
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        missing = exc.name if isinstance(exc, ImportError) else None
        if (extra := extra_providing(missing)) is not None:
            raise RecorderError(
                f"{backend} needs the {extra} extra, not installed (no {missing}): "
                f"{install_hint(extra)}"
            ) from exc
        raise RecorderError(f"cannot use database URL {url!r}: {exc}") from exc
    raise RecorderError(
        f"unsupported database {backend!r}: use sqlite:/// or postgresql+psycopg://"
    )


class Database:
    """The inference log in one database: schema, idempotent batch inserts, counts."""

    def __init__(self, database_url: str) -> None:
        self.engine = make_engine(database_url)
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        # A row whose id is already there was committed before (a replay): skip it.
        self._insert = insert(inference_log).on_conflict_do_nothing(
            index_elements=[inference_log.c.id]
        )

    def create_schema(self) -> None:
        create_schema(self.engine)

    def ping(self) -> None:
        """One round trip; raises an ``SQLAlchemyError`` when the database does not answer."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def insert(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert rows in one transaction; rows already present (same id) are left as they are."""
        if rows:
            with self.engine.begin() as connection:
                connection.execute(self._insert, list(rows))

    def count(self) -> int:
        with self.engine.connect() as connection:
            query = select(func.count()).select_from(inference_log)
            return int(connection.execute(query).scalar_one())

    def rows(self) -> list[dict[str, Any]]:
        query = select(inference_log).order_by(inference_log.c.created_at, inference_log.c.id)
        with self.engine.connect() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]

    def close(self) -> None:
        self.engine.dispose()


def count_rows(database_url: str) -> int:
    """How many rows the inference log holds."""
    database = Database(database_url)
    try:
        return database.count()
    finally:
        database.close()


def read_rows(database_url: str) -> list[dict[str, Any]]:
    """Every row of the inference log, oldest first (column name -> value)."""
    database = Database(database_url)
    try:
        return database.rows()
    finally:
        database.close()
