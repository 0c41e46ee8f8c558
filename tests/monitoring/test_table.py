"""The ``inference_log`` column types bind exactly what SQLAlchemy's own processors would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import TypeDecorator

from spendcast.monitoring.table import inference_log

VALUES = [
    datetime(2026, 5, 4, 12, 0, 0, 123456, tzinfo=UTC),
    datetime(2026, 5, 4, 12, 0, 0, tzinfo=UTC),  # no microseconds: still written with six digits
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 5, 4, 14, 0, 0, 7, tzinfo=timezone(timedelta(hours=2))),
    datetime(2026, 5, 4, 12, 0, 0, 7),  # naive: taken as UTC, as the general path does
    None,
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_created_at_binds_on_sqlite_what_sqlalchemy_binds(value: object) -> None:
    dialect = sqlite.dialect()
    column_type = inference_log.c.created_at.type.dialect_impl(dialect)
    fast = column_type.bind_processor(dialect)
    general = TypeDecorator.bind_processor(column_type, dialect)  # type: ignore[arg-type,var-annotated]
    assert fast is not None
    assert general is not None
    assert fast(value) == general(value)
    assert value is None or isinstance(fast(value), str)
