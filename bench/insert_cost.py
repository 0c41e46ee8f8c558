"""CPU per row of the inference log's batch insert into SQLite, as served and in variants.

    .venv/bin/python -m bench insert [--batch 500] [--batches 40] [--prefill 200000] [--quick]

``served`` is ``spendcast.monitoring.Database.insert`` (SQLAlchemy's compiled ``ON CONFLICT (id)
DO NOTHING`` through the driver's ``executemany``, the 32-hex-digit text id of ``new_id``, the
``created_at`` index, WAL with ``synchronous=FULL``, or NORMAL as a recorder without fsync
runs it); ``before`` is the SQLAlchemy Core ``execute`` with a dict per row it replaced. The
``raw`` variants run the same statement through ``sqlite3`` directly and change one thing at a
time: ``synchronous=NORMAL``, no ``created_at`` index, a
16-byte binary id, an integer id that grows with time. Each variant starts from a table of
``--prefill`` rows (a server that has run a while), then inserts ``--batches`` batches; the
figure is the inserting thread's CPU time per row (``time.thread_time``) and the wall time
(median over ``--rounds``, each round every variant in turn; each variant's CPU per row over
the first variant's is paired per round).
"""

from __future__ import annotations

import itertools
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from sqlalchemy.dialects import sqlite

from bench.options import shared_options
from bench.report import format_table, spread
from bench.results import Ratio, Results, command_line
from spendcast.monitoring import Inference
from spendcast.monitoring.database import Database
from spendcast.monitoring.table import inference_log

COLUMNS = "id, created_at, education, age, income, prediction, model_version"
Row = tuple[Any, ...]


def _inferences(count: int, start: datetime) -> list[Inference]:
    rng = random.Random(count)
    levels = ("High School", "Bachelor", "Master", "PhD")
    return [
        Inference(rng.choice(levels), rng.randint(18, 80), rng.randint(12, 150) * 1000.0,
                  rng.random() * 5000, "v1", created_at=start + timedelta(microseconds=i * 100))
        for i in range(count)
    ]  # fmt: skip


def _text_rows(rows: list[Inference]) -> list[Row]:
    return [(r.id, r.created_at.isoformat(sep=" "), r.education, r.age, r.income,
             r.prediction, r.model_version) for r in rows]  # fmt: skip


def _blob_rows(rows: list[Inference]) -> list[Row]:
    return [(bytes.fromhex(r.id), *row[1:]) for r, row in zip(rows, _text_rows(rows), strict=True)]


_sequence = itertools.count()


def _time_ordered_rows(rows: list[Inference]) -> list[Row]:
    # milliseconds since 2020 (38 bits for a century) then a 20-bit counter: ascending, unique
    epoch = datetime(2020, 1, 1, tzinfo=UTC)
    return [
        ((int((r.created_at - epoch).total_seconds() * 1e3) << 20) | (next(_sequence) & 0xFFFFF),
         *row[1:])
        for r, row in zip(rows, _text_rows(rows), strict=True)
    ]  # fmt: skip


def _time_ordered_text(rows: list[Inference]) -> list[Inference]:
    """The same rows with UUIDv7-like ids: 48 bits of milliseconds then 80 random bits, as 32
    hex digits (the id keeps its type and width, and sorts by time)."""
    rng = random.Random(7)
    return [
        replace(r, id=f"{int(r.created_at.timestamp() * 1000):012x}{rng.getrandbits(80):020x}")
        for r in rows
    ]


def _raw(
    path: Path, *, synchronous: str, index: bool, id_type: str, convert: Callable[..., list[Row]]
) -> tuple[Callable[[list[Inference]], None], Callable[[], None]]:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute(f"PRAGMA synchronous = {synchronous}")
    connection.execute(
        f"CREATE TABLE inference_log (id {id_type} PRIMARY KEY, created_at DATETIME NOT NULL, "
        "education VARCHAR NOT NULL, age INTEGER NOT NULL, income FLOAT NOT NULL, "
        "prediction FLOAT NOT NULL, model_version VARCHAR NOT NULL)"
    )
    if index:
        connection.execute("CREATE INDEX ix_created_at ON inference_log (created_at)")
    statement = (
        f"INSERT INTO inference_log ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO NOTHING"
    )

    def insert(rows: list[Inference]) -> None:
        converted = convert(rows)
        connection.execute("BEGIN")
        connection.executemany(statement, converted)
        connection.execute("COMMIT")

    return insert, connection.close


def _served(
    path: Path, time_ordered: bool = False, durable_commits: bool = True
) -> tuple[Callable[[list[Inference]], None], Callable[[], None]]:
    database = Database(f"sqlite:///{path}", durable_commits=durable_commits)
    database.create_schema()

    def insert(rows: list[Inference]) -> None:
        database.insert(_time_ordered_text(rows) if time_ordered else rows)

    return insert, database.close


def _core_execute(path: Path) -> tuple[Callable[[list[Inference]], None], Callable[[], None]]:
    """How ``Database.insert`` inserted before issue 13: SQLAlchemy Core, a dict per row."""
    database = Database(f"sqlite:///{path}")
    database.create_schema()
    statement = sqlite.insert(inference_log).on_conflict_do_nothing(
        index_elements=[inference_log.c.id]
    )

    def insert(rows: list[Inference]) -> None:
        with database.engine.begin() as connection:
            connection.execute(statement, [row.as_row() for row in rows])

    return insert, database.close


VARIANTS: dict[
    str, Callable[[Path], tuple[Callable[[list[Inference]], None], Callable[[], None]]]
] = {
    "SQLAlchemy Core execute, dict per row, FULL (before)": _core_execute,
    "served: compiled statement, DBAPI executemany, FULL": _served,
    "served, synchronous=NORMAL (recorder without fsync)": lambda p: _served(
        p, durable_commits=False
    ),
    "served, time-ordered text id (UUIDv7-like)": lambda p: _served(p, time_ordered=True),
    "raw sqlite3, same table, FULL": lambda p: _raw(
        p, synchronous="FULL", index=True, id_type="VARCHAR", convert=_text_rows
    ),
    "raw, synchronous=NORMAL": lambda p: _raw(
        p, synchronous="NORMAL", index=True, id_type="VARCHAR", convert=_text_rows
    ),
    "raw, NORMAL, no created_at index": lambda p: _raw(
        p, synchronous="NORMAL", index=False, id_type="VARCHAR", convert=_text_rows
    ),
    "raw, NORMAL, no index, 16-byte blob id": lambda p: _raw(
        p, synchronous="NORMAL", index=False, id_type="BLOB", convert=_blob_rows
    ),
    "raw, NORMAL, index, time-ordered text id": lambda p: _raw(
        p,
        synchronous="NORMAL",
        index=True,
        id_type="VARCHAR",
        convert=lambda rows: _text_rows(_time_ordered_text(rows)),
    ),
    "raw, NORMAL, index, time-ordered integer id": lambda p: _raw(
        p, synchronous="NORMAL", index=True, id_type="INTEGER", convert=_time_ordered_rows
    ),
    "raw, NORMAL, no index, time-ordered integer id": lambda p: _raw(
        p, synchronous="NORMAL", index=False, id_type="INTEGER", convert=_time_ordered_rows
    ),
}


def _batches(rows: list[Inference], size: int) -> Iterator[list[Inference]]:
    for offset in range(0, len(rows), size):
        yield rows[offset : offset + size]


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@shared_options(
    "insert", rounds=1, quick_rounds=1, quick="5 batches into 5,000 rows", pin="process"
)
@click.option("--batch", type=int, default=500, show_default=True, help="Rows per transaction.")
@click.option("--batches", type=int, default=None, help="Measured batches per variant [40; 5].")
@click.option(
    "--prefill", type=int, default=None, help="Rows in the table before [200,000; 5,000]."
)
def main(
    quick: bool, rounds: int, pin: bool, out: Path, batch: int, batches: int | None,
    prefill: int | None,
) -> None:  # fmt: skip
    """CPU per inserted row of each way of writing the inference log."""
    batches = batches or (5 if quick else 40)
    prefill = prefill or (5_000 if quick else 200_000)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    prefilled = _inferences(prefill, start)
    measured = _inferences(batch * batches, start + timedelta(days=1))
    cpu_us: dict[str, list[float]] = {}
    wall_us: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="spendcast-insert-") as tmp:
        for round_, (number, (label, make)) in itertools.product(
            range(rounds), enumerate(VARIANTS.items())
        ):
            insert, close = make(Path(tmp) / f"variant-{round_}-{number}.db")
            for rows_ in _batches(prefilled, 5000):
                insert(rows_)
            cpu, wall = time.thread_time(), time.perf_counter()
            for rows_ in _batches(measured, batch):
                insert(rows_)
            cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
            close()
            cpu_us.setdefault(label, []).append(round(cpu / len(measured) * 1e6, 3))
            wall_us.setdefault(label, []).append(round(wall / len(measured) * 1e6, 3))
    click.echo(f"{batches} batches of {batch} rows into a table of {prefill:,} rows\n")
    rows = [[label, spread(cpu_us[label]).label(1), spread(wall_us[label]).label(1)]
            for label in VARIANTS]  # fmt: skip
    click.echo(format_table(["variant", "cpu us/row", "wall us/row"], rows))
    first = next(iter(VARIANTS))
    ratios = {
        f"{label} / {first}, cpu per row": Ratio.of(
            [mine / theirs for mine, theirs in zip(cpu_us[label], cpu_us[first], strict=True)]
        )
        for label in list(VARIANTS)[1:]
    }
    figures = {f"{label}: cpu us/row": tuple(values) for label, values in cpu_us.items()}
    settings = {"batch": batch, "batches": batches, "prefill": prefill}
    written = Results("insert", command_line(), rounds, ratios, figures).write(
        out, {"settings": settings, "wall_us_per_row": wall_us}
    )
    click.echo(f"\nwrote {written}", err=True)


if __name__ == "__main__":
    main()
