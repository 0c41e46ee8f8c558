"""Engines for the inference log (SQLite by default, PostgreSQL with psycopg 3) and its inserts.

The schema and the insert statement come from SQLAlchemy (``table.py``, the dialect's ``INSERT
... ON CONFLICT (id) DO NOTHING`` compiled once); a batch then goes to the driver as it is
(``exec_driver_sql``: on SQLite one statement of many VALUES rows, on PostgreSQL psycopg's
``executemany``), bound by the column types' own processors, so the values stored are the ones
SQLAlchemy would store, without its per-row overhead.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from functools import partial
from operator import attrgetter
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.pool import ConnectionPoolEntry

from spendcast.errors import RecorderError
from spendcast.extras import extra_providing, install_hint
from spendcast.monitoring.inference import Inference
from spendcast.monitoring.table import create_schema, inference_log

SQLITE_BUSY_SECONDS = 30.0
SQLITE_MAX_VARIABLES = 32_766  # bound values per statement, SQLite's default since 3.32
POSTGRES_CONNECT_SECONDS = 2  # so that ``database_ok`` turns false within seconds


def _sqlite_pragmas(
    dbapi_connection: sqlite3.Connection, _entry: ConnectionPoolEntry, *, synchronous: str
) -> None:
    # busy_timeout first: switching to WAL needs a lock other processes may hold.
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_SECONDS * 1000)}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute(f"PRAGMA synchronous = {synchronous}")
    cursor.close()


def parse_url(database_url: str) -> URL:
    try:
        return make_url(database_url)
    except ArgumentError as exc:
        raise RecorderError(f"invalid database URL {database_url!r}: {exc}") from exc


def make_engine(database_url: str, *, durable_commits: bool = True) -> Engine:
    """An engine for ``sqlite:///file.db`` (WAL, busy timeout) or ``postgresql+psycopg://...``.

    ``durable_commits=False`` lets SQLite's WAL sync at checkpoints only (``synchronous =
    NORMAL``): a commit still survives the death of the process, not a power loss. Only for a
    recorder without ``fsync``, whose journal does not survive a power loss either.
    """
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
            synchronous = "FULL" if durable_commits else "NORMAL"
            event.listen(engine, "connect", partial(_sqlite_pragmas, synchronous=synchronous))
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

    def __init__(self, database_url: str, *, durable_commits: bool = True) -> None:
        self.engine = make_engine(database_url, durable_commits=durable_commits)
        dialect = self.engine.dialect
        insert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
        # A row whose id is already there was committed before (a replay): skip it.
        statement = insert(inference_log).on_conflict_do_nothing(
            index_elements=[inference_log.c.id]
        )
        compiled = statement.compile(dialect=dialect)
        self._sql = str(compiled)
        names: list[str] = list(compiled.positiontup or ()) if compiled.positional else []
        self._named = not compiled.positional
        if self._named:
            names = list(compiled.params)
        self._names = names
        self._values = attrgetter(*names)  # an Inference's fields are the table's columns
        self._processors: list[tuple[int, Callable[[Any], Any]]] = []
        for index, name in enumerate(names):
            column_type = inference_log.c[name].type.dialect_impl(dialect)
            processor = column_type.bind_processor(dialect)
            if processor is not None:
                self._processors.append((index, processor))
        # SQLite: a batch is one statement of many VALUES rows. ``executemany`` would release
        # and take back the GIL around every row's step, a hand-off with the event loop each.
        self._row_clause = "(" + ", ".join("?" * len(names)) + ")"
        self._multi_row = not self._named and self._row_clause in self._sql
        self._multi_sql: dict[int, str] = {}

    def create_schema(self) -> None:
        create_schema(self.engine)

    def ping(self) -> None:
        """One round trip; raises an ``SQLAlchemyError`` when the database does not answer."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def insert(self, rows: Sequence[Inference]) -> None:
        """Insert rows in one transaction; rows already present (same id) are left as they are.

        Errors are SQLAlchemy's own (``IntegrityError`` for a value the database refuses,
        ``OperationalError`` when it is unreachable), and so is the connection handling.
        """
        if not rows:
            return
        with self.engine.begin() as connection:
            if self._multi_row:
                step = SQLITE_MAX_VARIABLES // len(self._names)
                for start in range(0, len(rows), step):
                    chunk = rows[start : start + step]
                    flat = self._flat_parameters(chunk)
                    connection.exec_driver_sql(self._statement_for(len(chunk)), flat)
            else:
                connection.exec_driver_sql(self._sql, self._parameters(rows))

    def _statement_for(self, count: int) -> str:
        """The compiled insert with ``count`` VALUES rows."""
        statement = self._multi_sql.get(count)
        if statement is None:
            head, clause, tail = self._sql.partition(self._row_clause)
            statement = self._multi_sql[count] = head + ", ".join([clause] * count) + tail
        return statement

    def _flat_parameters(self, rows: Sequence[Inference]) -> tuple[Any, ...]:
        """Every row's bound values, row after row, in one tuple (a multi-row statement's):
        the values of each column bound in one pass over that column."""
        values, width = self._values, len(self._names)
        flat: list[Any] = []
        for row in rows:
            flat += values(row)
        for index, processor in self._processors:
            flat[index::width] = map(processor, flat[index::width])
        return tuple(flat)

    def _parameters(self, rows: Sequence[Inference]) -> list[Any]:
        values, processors, names = self._values, self._processors, self._names
        bound: list[Any] = []
        for row in rows:
            row_values = list(values(row))
            for index, processor in processors:
                row_values[index] = processor(row_values[index])
            bound.append(
                dict(zip(names, row_values, strict=True)) if self._named else tuple(row_values)
            )
        return bound

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
