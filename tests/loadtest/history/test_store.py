"""The store on a real SQLite file and on the real PostgreSQL: append, list, bless, schema
versions, concurrent writers, and an unreachable or newer store as one-line errors."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, text

from spendcast.errors import HistoryError
from spendcast.loadtest.history import schema
from spendcast.loadtest.history.record import read_record
from spendcast.loadtest.history.schema import SCHEMA_VERSION
from spendcast.loadtest.history.store import HistoryStore
from tests.loadtest.history.support import metadata, write_run


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'runs' / 'history.db'}"
    found: str = request.getfixturevalue("postgres_url")
    return found


def test_runs_are_appended_once_listed_and_filtered(url: str, tmp_path: Path) -> None:
    first = read_record(write_run(tmp_path / "a", p99=40, started="2026-12-01T10:00:00"),
                        metadata())  # fmt: skip
    second = read_record(write_run(tmp_path / "b", p99=50, started="2026-12-02T10:00:00"),
                         metadata(commit="b" * 40))  # fmt: skip
    other = read_record(write_run(tmp_path / "c", host="http://10.0.0.9:8000",
                                  started="2026-12-03T10:00:00"), metadata())  # fmt: skip
    with HistoryStore(url) as store:
        ids = [store.append(record) for record in (first, second, other)]
        assert [new for _, new in ids] == [True, True, True]
        assert store.append(first) == (ids[0][0], False)  # the same directory: stored once
        runs = store.runs()
        assert [run.id for run in runs] == [run_id for run_id, _ in ids]  # oldest first
        assert runs[1].figure("total") == second.figure("total")
        assert runs[1].figure("GET /predict") == second.figure("GET /predict")
        assert runs[1].meta == second.meta
        assert runs[1].summary == second.summary
        assert [r.id for r in store.runs(key=first.key[:12])] == [ids[0][0], ids[1][0]]
        assert [r.id for r in store.runs(host="http://10.0.0.9:8000")] == [ids[2][0]]
        assert [r.id for r in store.runs(since="2026-12-02")] == [ids[1][0], ids[2][0]]
        assert [r.id for r in store.runs(last=1)] == [ids[2][0]]
        assert store.runs(scenario="mixed") == []
        assert store.get(9999) is None


def test_bless_marks_one_baseline_per_key(url: str, tmp_path: Path) -> None:
    records = [read_record(write_run(tmp_path / name, started=f"2026-12-0{i}T10:00:00"),
                           metadata()) for i, name in enumerate("ab", start=1)]  # fmt: skip
    with HistoryStore(url) as store:
        ids = [store.append(record)[0] for record in records]
        assert store.baseline(records[0].key) is None
        blessed = store.bless(ids[0])
        assert blessed is not None
        assert blessed.blessed
        store.bless(ids[1])  # a newer baseline replaces the older
        baseline = store.baseline(records[0].key)
        assert baseline is not None
        assert baseline.id == ids[1]
        assert [r.blessed for r in store.runs()] == [False, True]
        assert store.bless(9999) is None


def test_a_store_written_by_a_newer_version_is_refused(url: str, tmp_path: Path) -> None:
    record = read_record(write_run(tmp_path / "a"), metadata())
    with HistoryStore(url) as store:
        store.append(record)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE history_schema SET version = :v"),
                           {"v": SCHEMA_VERSION + 1})  # fmt: skip
    engine.dispose()
    with HistoryStore(url) as store, pytest.raises(HistoryError) as raised:
        store.runs()
    message = str(raised.value)
    assert "\n" not in message
    assert f"newer spendcast (schema {SCHEMA_VERSION + 1}" in message
    assert "upgrade spendcast" in message


def test_an_unreachable_store_is_one_line(tmp_path: Path) -> None:
    record = read_record(write_run(tmp_path / "a"), metadata())
    url = "postgresql+psycopg://postgres:secret@127.0.0.1:1/history"
    with HistoryStore(url) as store, pytest.raises(HistoryError) as raised:
        store.append(record)
    message = str(raised.value)
    assert "\n" not in message
    assert "127.0.0.1:1/history unavailable" in message
    assert "secret" not in message


def test_a_bad_url_is_one_line() -> None:
    for url in ("nonsense", "mysql://x/y"):
        with pytest.raises(HistoryError) as raised:
            HistoryStore(url)
        assert "\n" not in str(raised.value)


WRITER = """
import sys, time
from pathlib import Path
from spendcast.loadtest.history.record import read_record
from spendcast.loadtest.history.store import HistoryStore
from tests.loadtest.history.support import metadata
url, run_dir, start = sys.argv[1:]
record = read_record(Path(run_dir), metadata())
Path(run_dir, "ready").touch()
while not Path(start).exists():
    time.sleep(0.005)
with HistoryStore(url) as store:
    print(store.append(record)[0])
"""


def test_concurrent_writers_on_a_new_store_are_all_kept(url: str, tmp_path: Path) -> None:
    """Four runs ending at once on a store that does not exist yet: it is created once, and
    every run is kept."""
    start = tmp_path / "go"
    writers = []
    for index in range(4):
        run_dir = write_run(tmp_path / f"run{index}", p99=40 + index,
                            started=f"2026-12-01T10:00:0{index}")  # fmt: skip
        writers.append(subprocess.Popen(
            [sys.executable, "-c", WRITER, url, str(run_dir), str(start)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            cwd=Path(__file__).resolve().parents[3],
        ))  # fmt: skip
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"run{i}" / "ready").exists() for i in range(4)):
        assert time.monotonic() < deadline, "the writers did not start"
        time.sleep(0.05)
    start.touch()  # every writer has imported and read its run: they append at once
    outputs = [writer.communicate(timeout=60) for writer in writers]
    assert [writer.returncode for writer in writers] == [0] * 4, outputs
    ids = sorted(int(out) for out, _ in outputs)
    assert len(set(ids)) == 4
    with HistoryStore(url) as store:
        runs = store.runs()
    assert sorted(r.id or 0 for r in runs) == ids
    assert sorted(r.summary["latency_ms"]["p99"] for r in runs) == [40, 41, 42, 43]


def test_a_stored_record_reads_back_whole(url: str, tmp_path: Path) -> None:
    record = read_record(write_run(tmp_path / "a", slos=[
        {"expression": "p99<10ms", "passed": False, "observed": 40}]), metadata())  # fmt: skip
    with HistoryStore(url) as store:
        run_id, _ = store.append(record)
        stored = store.get(run_id)
    assert stored == replace(record, id=run_id)
    assert stored.verdict == "1 of 1 SLOs failed: p99<10ms"


def test_an_older_store_is_migrated_in_place(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store of version 1 opened by a spendcast whose schema is 2: the migration runs once,
    the runs stay, and the store says 2."""
    record = read_record(write_run(tmp_path / "a"), metadata())
    with HistoryStore(url) as store:
        run_id, _ = store.append(record)

    def add_note(connection: Connection) -> None:
        connection.execute(text("ALTER TABLE history_runs ADD COLUMN note TEXT"))

    monkeypatch.setattr(schema, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(schema.MIGRATIONS, 2, add_note)
    with HistoryStore(url) as store:
        assert store.get(run_id) == replace(record, id=run_id)
    engine = create_engine(url)
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT version FROM history_schema")) == 2
        assert connection.scalar(text("SELECT count(note) FROM history_runs")) == 0
    engine.dispose()
