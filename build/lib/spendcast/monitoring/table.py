"""The ``inference_log`` table, and its creation when several processes start at once."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

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


# sqlalchemy.dialects.sqlite.DATETIME's default storage format, positionally.
_SQLITE_DATETIME = "%04d-%02d-%02d %02d:%02d:%02d.%06d"


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores it naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is None:
            return value
        return value.astimezone(UTC)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """On SQLite, the text SQLAlchemy's own processors make of a UTC datetime (its
        ``DATETIME`` storage format), built in one step: the recorder binds one per row, and
        the two layers (``astimezone``, then a dict-formatted string) cost twice as much.
        Anything else goes through them."""
        general = super().bind_processor(dialect)
        if dialect.name != "sqlite" or general is None:
            return general
        slow: Callable[[Any], Any] = general

        def process(value: Any) -> Any:
            if type(value) is not datetime or value.tzinfo is not UTC:
                return slow(value)
            return _SQLITE_DATETIME % (
                value.year,
                value.month,
                value.day,
                value.hour,
                value.minute,
                value.second,
                value.microsecond,
            )

        return process

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


def create_schema(engine: Engine, busy_seconds: float = 30.0) -> None:
    """Create the table and index if missing.

    Two processes may both see the table missing and both create it: the loser gets a
    duplicate-object error and tries again (the table may be there before its index). SQLite
    answers "database is locked" at once, without waiting, when two connections both try to
    upgrade a read to a write: also tried again, for up to ``busy_seconds`` in all. Other
    errors (the database is unreachable) propagate: the caller retries when it is back.
    """
    deadline = time.monotonic() + busy_seconds
    delay = 0.02
    while True:
        try:
            metadata.create_all(engine, checkfirst=True)
            return
        except (IntegrityError, ProgrammingError, OperationalError) as exc:
            if _schema_exists_now(engine):
                return
            message = str(exc.orig).lower()
            racing = "locked" in message or "already exists" in message
            if not racing or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def _schema_exists_now(engine: Engine) -> bool:
    try:
        return schema_exists(engine)
    except OperationalError:  # still locked by the process creating it
        return False
