"""The SQLite engine: a rollback journal (nothing memory-mapped), and a file deleted or replaced
under an open pool noticed after the write that went into it."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from spendcast.errors import DatabaseFileChanged
from spendcast.monitoring.database import Database, count_rows
from tests.monitoring.support import sample


def journal_mode(database: Database) -> str:
    with database.engine.connect() as connection:
        return str(connection.exec_driver_sql("PRAGMA journal_mode").scalar())


def test_a_wal_file_of_an_older_version_leaves_wal(tmp_path: Path) -> None:
    path = tmp_path / "spendcast.db"
    with closing(sqlite3.connect(path)) as older:
        older.execute("PRAGMA journal_mode = WAL")
    database = Database(f"sqlite:///{path}")
    try:
        database.create_schema()
        database.insert([sample(0)])
        assert journal_mode(database) == "truncate"
    finally:
        database.close()
    assert not path.with_name(path.name + "-shm").exists()
    assert not path.with_name(path.name + "-wal").exists()


@pytest.mark.parametrize("change", ["replaced", "deleted"])
def test_a_write_into_a_file_no_longer_at_the_path_is_reported(tmp_path: Path, change: str) -> None:
    path = tmp_path / "spendcast.db"
    url = f"sqlite:///{path}"
    database = Database(url)
    try:
        database.create_schema()
        database.insert([sample(0)])
        if change == "replaced":
            (tmp_path / "restore.db").write_bytes(path.read_bytes())
            os.replace(tmp_path / "restore.db", path)
        else:
            path.unlink()
        with pytest.raises(DatabaseFileChanged, match="was deleted or replaced"):
            database.insert([sample(1)])
        database.create_schema()  # what the writer does next: the file now at the path
        database.insert([sample(1), sample(2)])
    finally:
        database.close()
    assert count_rows(url) == (3 if change == "replaced" else 2)
