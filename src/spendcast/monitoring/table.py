"""The ``inference_log`` table, and its creation when several processes start at once."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    DateTime,
    Dialect,
    Double,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    inspect,
)
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.types import TypeDecorator

TABLE_NAME = "inference_log"
CREATED_AT_INDEX = "ix_inference_log_created_at"


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores it naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is None:
            return value
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = MetaData()

inference_log = Table(
    TABLE_NAME,
    metadata,
    Column("id", String, primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("education", String, nullable=False),
    Column("age", Integer, nullable=False),
    Column("income", Double, nullable=False),
    Column("prediction", Double, nullable=False),
    Column("model_version", String, nullable=False),
    Index(CREATED_AT_INDEX, "created_at"),
)


def schema_exists(engine: Engine) -> bool:
    """Whether the table and its index are both there."""
    inspector = inspect(engine)
    if not inspector.has_table(TABLE_NAME):
        return False
    return any(index["name"] == CREATED_AT_INDEX for index in inspector.get_indexes(TABLE_NAME))


def create_schema(engine: Engine, attempts: int = 5) -> None:
    """Create the table and index if missing.

    Two processes may both see the table missing and both create it: the loser gets a
    duplicate-object error (or SQLite's "database is locked"), then finds the schema there.
    Connection errors propagate: the caller retries when the database is back.
    """
    for attempt in range(1, attempts + 1):
        try:
            metadata.create_all(engine, checkfirst=True)
            return
        except (IntegrityError, ProgrammingError, OperationalError):
            if schema_exists(engine):
                return
            if attempt == attempts:
                raise
            time.sleep(0.05 * attempt)
