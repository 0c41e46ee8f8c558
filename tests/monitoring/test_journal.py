"""Journal files: what a replay reads back, and whose journals it leaves alone."""

from __future__ import annotations

import math
from pathlib import Path

from spendcast.monitoring import Inference, Recorder, count_rows, read_rows
from spendcast.monitoring.inference import from_line, to_line
from tests.monitoring.support import sample, wait_until


def test_a_line_round_trips_exactly() -> None:
    row = sample(12345)
    assert from_line(to_line(row)) == row
    assert to_line(row).endswith(b"\n")
    assert to_line(row).count(b"\n") == 1


def test_a_torn_last_line_is_skipped_on_replay(sqlite_url: str, journal_dir: Path) -> None:
    journal_dir.mkdir()
    (journal_dir / "999-dead.lock").touch()
    lines = b"".join(to_line(sample(index)) for index in range(3))
    (journal_dir / "999-dead.000001.jsonl").write_bytes(lines + to_line(sample(3))[:20])
    with Recorder(sqlite_url, journal_dir) as recorder:
        assert recorder.stats().replayed == 3
    assert [row["id"] for row in read_rows(sqlite_url)] == [sample(i).id for i in range(3)]
    assert list(journal_dir.iterdir()) == []


def test_a_live_recorder_journal_is_not_replayed(sqlite_url: str, journal_dir: Path) -> None:
    first = Recorder(sqlite_url, journal_dir, batch_size=1_000_000, flush_seconds=3600)
    first.start()
    for index in range(50):
        first.record(sample(index))
    with Recorder(sqlite_url, journal_dir) as second:
        assert second.stats().replayed == 0
    assert count_rows(sqlite_url) == 0
    first.stop()
    assert count_rows(sqlite_url) == 50


def test_fsync_journal_gives_the_same_rows(sqlite_url: str, journal_dir: Path) -> None:
    with Recorder(sqlite_url, journal_dir, fsync=True) as recorder:
        recorder.record_many([sample(index) for index in range(20)])
    assert count_rows(sqlite_url) == 20


def test_a_row_the_database_refuses_is_counted_not_retried(
    sqlite_url: str, journal_dir: Path
) -> None:
    bad = Inference("PhD", 40, 1.0, math.nan, "v", id="nan")  # SQLite stores NaN as NULL
    with Recorder(sqlite_url, journal_dir, batch_size=10, flush_seconds=0.05) as recorder:
        recorder.record_many([sample(0), bad, sample(1)])
    stats = recorder.stats()
    assert stats.rejected == 1
    assert stats.backlog == 0
    assert stats.written == 2
    assert count_rows(sqlite_url) == 2


def test_a_running_recorder_picks_up_orphans_later(sqlite_url: str, journal_dir: Path) -> None:
    with Recorder(sqlite_url, journal_dir, orphan_scan_seconds=0.1) as recorder:
        (journal_dir / "999-late.000001.jsonl").write_bytes(
            b"".join(to_line(sample(index, "late")) for index in range(5))
        )
        (journal_dir / "999-late.lock").touch()
        wait_until(lambda: recorder.stats().replayed == 5)
    assert count_rows(sqlite_url) == 5
