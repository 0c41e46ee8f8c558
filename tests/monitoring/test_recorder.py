"""The recorder on a real database: every recorded row lands once, with its exact values."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from spendcast.errors import RecorderError
from spendcast.monitoring import Inference, Recorder, count_rows, read_rows
from spendcast.settings import Settings
from tests.monitoring.support import sample, wait_until


def test_recorded_rows_land_with_exact_values(database_url: str, journal_dir: Path) -> None:
    rows = [sample(index) for index in range(1234)]
    with Recorder(database_url, journal_dir, batch_size=100, flush_seconds=0.05) as recorder:
        for row in rows[:1000]:
            recorder.record(row)
        recorder.record_many(rows[1000:])
        wait_until(lambda: recorder.stats().backlog == 0)
        stats = recorder.stats()
    assert stats.running
    assert stats.database_ok
    assert stats.written == 1234
    assert (stats.spilled, stats.replayed, stats.rejected, stats.dropped) == (0, 0, 0, 0)
    assert read_rows(database_url) == [row.as_row() for row in rows]
    assert list(journal_dir.iterdir()) == []


def test_timestamps_are_utc_aware(database_url: str, journal_dir: Path) -> None:
    with Recorder(database_url, journal_dir) as recorder:
        recorder.record(Inference("PhD", 42, 50_000.0, 1234.5, "v1"))
    (row,) = read_rows(database_url)
    assert row["created_at"].tzinfo is not None
    assert row["created_at"].utcoffset().total_seconds() == 0
    assert abs((datetime.now(UTC) - row["created_at"]).total_seconds()) < 3600


def test_stop_flushes_rows_still_waiting(sqlite_url: str, journal_dir: Path) -> None:
    recorder = Recorder(sqlite_url, journal_dir, batch_size=1_000_000, flush_seconds=3600)
    recorder.start()
    for index in range(300):
        recorder.record(sample(index))
    recorder.stop()
    assert count_rows(sqlite_url) == 300
    assert recorder.stats().written == 300
    assert not recorder.stats().running
    assert list(journal_dir.iterdir()) == []


def test_record_refused_before_start_and_after_stop(sqlite_url: str, journal_dir: Path) -> None:
    recorder = Recorder(sqlite_url, journal_dir)
    with pytest.raises(RecorderError, match="not started"):
        recorder.record(sample(0))
    recorder.start()
    recorder.record(sample(1))
    recorder.stop()
    recorder.stop()  # idempotent
    with pytest.raises(RecorderError, match="stopped"):
        recorder.record(sample(2))
    with pytest.raises(RecorderError, match="stopped"):
        recorder.record_many([sample(3)])
    assert count_rows(sqlite_url) == 1


def test_small_segments_rotate_and_are_deleted(sqlite_url: str, journal_dir: Path) -> None:
    with Recorder(sqlite_url, journal_dir, batch_size=10, segment_rows=25) as recorder:
        for index in range(500):
            recorder.record(sample(index))
    assert count_rows(sqlite_url) == 500
    assert list(journal_dir.iterdir()) == []


def test_from_settings_uses_the_recorder_settings(sqlite_url: str, journal_dir: Path) -> None:
    settings = Settings(database_url=sqlite_url, journal_dir=journal_dir, recorder_batch_size=7)
    with Recorder.from_settings(settings) as recorder:
        recorder.record(sample(0))
    assert count_rows(sqlite_url) == 1


@pytest.mark.parametrize("url", ["mysql://nobody@127.0.0.1/x", "not a url"])
def test_unsupported_database_url_is_a_recorder_error(url: str, journal_dir: Path) -> None:
    with pytest.raises(RecorderError):
        Recorder(url, journal_dir).start()


def test_a_database_error_is_logged_in_one_short_line(
    tmp_path: Path, journal_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The table dropped from outside: the next insert fails, the writer recreates the schema.
    path = tmp_path / "spendcast.db"
    rows = [sample(index) for index in range(500)]
    url = f"sqlite:///{path}"
    with Recorder(url, journal_dir, batch_size=500, flush_seconds=60) as recorder:
        with closing(sqlite3.connect(path)) as outside, outside:
            outside.execute("DROP TABLE inference_log")
        recorder.record_many(rows)
        wait_until(lambda: recorder.stats().backlog == 0)
        failed = recorder.stats().failed_batches
    assert failed >= 1
    assert count_rows(url) == 500
    (warning,) = [r.getMessage() for r in caplog.records if "unavailable" in r.getMessage()]
    assert warning.endswith("OperationalError: no such table: inference_log")
    assert "INSERT" not in warning
    assert rows[0].id not in warning
