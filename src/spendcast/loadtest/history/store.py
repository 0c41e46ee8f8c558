"""The history store: SQLite by default (``runs/history.db``), PostgreSQL when a team shares it.

``HistoryStore(url)`` opens the store lazily: the first transaction creates or migrates it
(``schema.prepare``). Every transaction on SQLite is ``BEGIN IMMEDIATE`` (with a 30 s busy
timeout): writers queue instead of failing, and DDL is transactional, so runs ending at once
are all kept. Any database failure is a ``HistoryError`` of one line, the URL shown without
its password.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Engine, Row, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry

from spendcast.errors import HistoryError
from spendcast.extras import install_hint
from spendcast.loadtest.history.metadata import RunMetadata, now_iso
from spendcast.loadtest.history.record import Figures, RunRecord, finite
from spendcast.loadtest.history.schema import baselines, figures, prepare, runs

HISTORY_URL_ENV: Final = "SPENDCAST_HISTORY_URL"
DEFAULT_URL: Final = "sqlite:///runs/history.db"
SQLITE_BUSY_S: Final = 30
POSTGRES_CONNECT_S: Final = 3


def _dumps(value: Any) -> str:
    return json.dumps(finite(value))


def _sqlite_connect(dbapi_connection: sqlite3.Connection, _entry: ConnectionPoolEntry) -> None:
    dbapi_connection.isolation_level = None  # transactions begin where SQLAlchemy says (below)
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_S * 1000}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def shown_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(url)


def make_engine(url: str) -> Engine:
    """An engine for ``sqlite:///FILE`` or ``postgresql+psycopg://...``."""
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise HistoryError(f"invalid history URL {url!r}: use sqlite:///FILE or "
                           "postgresql+psycopg://USER@HOST/DB") from error  # fmt: skip
    backend = parsed.get_backend_name()
    try:
        if backend == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(parsed, json_serializer=_dumps,
                                   connect_args={"timeout": SQLITE_BUSY_S})  # fmt: skip
            event.listen(engine, "connect", _sqlite_connect)
            event.listen(engine, "begin", _sqlite_begin)
            return engine
        if backend == "postgresql":
            return create_engine(parsed, json_serializer=_dumps, pool_pre_ping=True,
                                 connect_args={"connect_timeout": POSTGRES_CONNECT_S})  # fmt: skip
    except (NoSuchModuleError, ImportError) as error:
        raise HistoryError(f"history URL {shown_url(url)} needs a driver that is not installed "
                           f"({error}): {install_hint('postgres')}") from error  # fmt: skip
    except OSError as error:
        raise HistoryError(f"history store {shown_url(url)}: {error}") from error
    raise HistoryError(f"history URL {shown_url(url)}: only sqlite:/// and postgresql+psycopg:// "
                       "stores are supported")  # fmt: skip


class HistoryStore:
    """The runs of one store: append, list, bless, and find a key's baseline."""

    def __init__(self, url: str = DEFAULT_URL) -> None:
        self.url = url
        self.where = shown_url(url)
        self.engine = make_engine(url)
        self._prepared = False

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as connection:
                if not self._prepared:
                    prepare(connection, self.where)
                yield connection
            self._prepared = True
        except SQLAlchemyError as error:
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            raise HistoryError(f"history store {self.where} unavailable: {reason}") from error

    def append(self, record: RunRecord) -> tuple[int, bool]:
        """Store ``record``; ``(id, True)``, or ``(id, False)`` when it was already stored."""
        with self._transaction() as connection:
            found = connection.scalar(select(runs.c.id).where(runs.c.uid == record.uid))
            if found is not None:
                return int(found), False
            meta = record.meta
            result = connection.execute(runs.insert().values(
                uid=record.uid, kind=record.kind, document=record.document, key=record.key,
                started_at=record.started_at, recorded_at=meta.recorded_at,
                scenario=record.scenario, host=record.host, run_dir=record.run_dir,
                command=meta.command, git_commit=meta.git_commit, git_dirty=meta.git_dirty,
                model_version=meta.model_version, passed=record.passed, verdict=record.verdict,
                key_inputs=dict(record.key_inputs), meta=meta.to_json(),
                summary=dict(record.summary),
            ))  # fmt: skip
            inserted = result.inserted_primary_key
            assert inserted is not None
            run_id = int(inserted[0])
            rows = [{"run_id": run_id, **f.to_json()} for f in record.figures]
            if rows:
                connection.execute(figures.insert(), rows)
            return run_id, True

    def runs(
        self,
        *,
        key: str | None = None,
        scenario: str | None = None,
        host: str | None = None,
        since: str | None = None,
        kind: str | None = None,
        last: int | None = None,
        ids: Sequence[int] | None = None,
        uid: str | None = None,
    ) -> list[RunRecord]:
        """The runs that match, oldest first (``last``: only the latest N of them)."""
        query = select(runs, baselines.c.run_id.label("blessed_id")).outerjoin(
            baselines, baselines.c.run_id == runs.c.id
        )
        conditions = [
            runs.c.key.startswith(key.lower(), autoescape=True) if key else None,
            runs.c.scenario == scenario if scenario is not None else None,
            runs.c.host == host if host is not None else None,
            runs.c.started_at >= since if since is not None else None,
            runs.c.kind == kind if kind is not None else None,
            runs.c.id.in_(ids) if ids is not None else None,
            runs.c.uid == uid if uid is not None else None,
        ]
        for condition in conditions:
            if condition is not None:
                query = query.where(condition)
        query = query.order_by(runs.c.started_at.desc(), runs.c.id.desc())
        if last is not None:
            query = query.limit(last)
        with self._transaction() as connection:
            rows = connection.execute(query).all()
            found = connection.execute(
                select(figures).where(figures.c.run_id.in_([row.id for row in rows]))
            ).all()
        by_run: dict[int, list[Figures]] = {}
        for figure in found:
            values = figure._asdict()
            by_run.setdefault(values.pop("run_id"), []).append(Figures(**values))
        return [_record(row, by_run.get(row.id, [])) for row in reversed(rows)]

    def get(self, run_id: int) -> RunRecord | None:
        found = self.runs(ids=[run_id])
        return found[0] if found else None

    def bless(self, run_id: int) -> RunRecord | None:
        """Make run ``run_id`` the baseline of its key (replacing any other); ``None``: no
        such run."""
        with self._transaction() as connection:
            key = connection.scalar(select(runs.c.key).where(runs.c.id == run_id))
            if key is None:
                return None
            connection.execute(baselines.delete().where(baselines.c.key == key))
            connection.execute(baselines.insert().values(key=key, run_id=run_id,
                                                         blessed_at=now_iso()))  # fmt: skip
        return self.get(run_id)

    def baseline(self, key: str) -> RunRecord | None:
        """The blessed run of ``key`` (the whole key), if any."""
        with self._transaction() as connection:
            run_id = connection.scalar(select(baselines.c.run_id).where(baselines.c.key == key))
        return None if run_id is None else self.get(int(run_id))


def _record(row: Row[Any], found: list[Figures]) -> RunRecord:
    order = {"total": 0, "capacity": 1, "baseline": 0, "candidate": 1}
    return RunRecord(
        uid=row.uid, kind=row.kind, document=row.document, key=row.key,
        key_inputs=row.key_inputs, started_at=row.started_at, run_dir=row.run_dir,
        scenario=row.scenario, host=row.host, passed=row.passed, verdict=row.verdict or "",
        meta=RunMetadata.from_json(row.meta), summary=row.summary,
        figures=tuple(sorted(found, key=lambda f: (order.get(f.endpoint, 2), f.endpoint))),
        id=row.id, blessed=row.blessed_id is not None,
    )  # fmt: skip
