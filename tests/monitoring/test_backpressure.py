"""A journal on a full disk: ``record()`` keeps a row (journal, or memory in best-effort mode)
or raises ``InferenceNotKept`` having kept nothing; the state shows in ``stats().reasons``, and
once the disk or the database is back every kept row lands exactly once."""

from __future__ import annotations

from pathlib import Path

import pytest

from spendcast.errors import InferenceNotKept
from spendcast.monitoring import Inference, Recorder, read_rows
from spendcast.monitoring.inference import from_line
from spendcast.monitoring.stats import (
    BUFFER_FULL,
    DATABASE_UNREACHABLE,
    JOURNAL_DEGRADED,
)
from spendcast.settings import JournalMode
from tests.monitoring.support import sample, wait_until
from tests.support.postgres import TcpProxy
from tests.support.small_disk import SmallDisk


def fast_recorder(
    url: str, journal_dir: Path, *, journal: JournalMode = "required", buffer_rows: int = 50_000
) -> Recorder:
    """Small batches, short flushes and retries: the tests see changes within milliseconds."""
    return Recorder(
        url,
        journal_dir,
        batch_size=20,
        flush_seconds=0.05,
        retry_max_seconds=0.2,
        buffer_rows=buffer_rows,
        journal=journal,
    )


def record_until_refused(recorder: Recorder, start: int, limit: int = 5_000) -> list[Inference]:
    """Record rows from ``start`` on until one is refused; returns those that were kept."""
    kept: list[Inference] = []
    for index in range(start, start + limit):
        row = sample(index)
        try:
            recorder.record(row)
        except InferenceNotKept:
            return kept
        kept.append(row)
    raise AssertionError(f"{limit} rows recorded, none refused")


def ids(rows: list[Inference]) -> list[str]:
    return sorted(row.id for row in rows)


def stored_ids(database_url: str) -> list[str]:
    return sorted(row["id"] for row in read_rows(database_url))


def test_required_journal_on_a_full_disk_refuses_keeps_nothing_and_recovers(
    sqlite_url: str, small_disk: SmallDisk
) -> None:
    recorder = fast_recorder(sqlite_url, small_disk.journal_dir)
    recorder.start()
    kept = [sample(index) for index in range(50)]
    recorder.record_many(kept)
    wait_until(lambda: recorder.stats().backlog == 0)
    assert recorder.stats().reasons == ()
    # Committed segments are rotated away when idle: fill once nothing of them is left, so
    # that no deletion gives the disk room again behind the test's back.
    segments = small_disk.journal_dir.glob("*.jsonl")
    wait_until(lambda: all(path.stat().st_size == 0 for path in segments))

    small_disk.fill()
    kept += record_until_refused(recorder, 50)  # a few may fit in a segment's last page
    with pytest.raises(InferenceNotKept, match="journal"):
        recorder.record_many([sample(index, "batch") for index in range(10)])
    stats = recorder.stats()
    assert not stats.journal_ok
    assert stats.journal_errors >= 2
    assert JOURNAL_DEGRADED in stats.reasons
    assert stats.unjournaled == 0  # required: nothing is kept in memory only
    for segment in small_disk.journal_dir.glob("*.jsonl"):  # failed writes were cut back
        content = segment.read_bytes()
        assert content == b"" or content.endswith(b"\n")
        assert all(from_line(line) for line in content.splitlines())

    small_disk.free()
    wait_until(lambda: recorder.stats().journal_ok)  # the writer's probe sees room again
    assert recorder.stats().reasons == ()
    kept += [sample(index, "after") for index in range(30)]
    recorder.record_many(kept[-30:])
    recorder.stop()
    assert stored_ids(sqlite_url) == ids(kept)
    assert list(small_disk.journal_dir.iterdir()) == []


def test_best_effort_journal_on_a_full_disk_keeps_rows_in_memory_and_writes_them(
    sqlite_url: str, small_disk: SmallDisk
) -> None:
    recorder = fast_recorder(sqlite_url, small_disk.journal_dir, journal="best-effort")
    recorder.start()
    small_disk.fill()
    rows = [sample(index) for index in range(300)]
    for row in rows:
        recorder.record(row)  # never refused: the database takes them out of memory
    stats = recorder.stats()
    assert not stats.journal_ok
    assert stats.journal_errors > 0
    wait_until(lambda: recorder.stats().backlog == 0)
    assert stored_ids(sqlite_url) == ids(rows)
    small_disk.free()
    wait_until(lambda: recorder.stats().journal_ok)
    recorder.stop()
    assert recorder.stats().dropped == 0
    assert list(small_disk.journal_dir.iterdir()) == []


@pytest.mark.postgres
@pytest.mark.parametrize(("mode", "before"), [("required", 150), ("best-effort", 60)])
def test_database_cut_and_disk_full_refuse_what_cannot_be_kept(
    postgres_url: str,
    proxied_url: str,
    proxy: TcpProxy,
    small_disk: SmallDisk,
    mode: JournalMode,
    before: int,
) -> None:
    # required: 100 rows in memory and 50 spilled, then the disk fills; best-effort: 60 in
    # memory, then up to 40 more in memory only once the disk is full.
    recorder = fast_recorder(proxied_url, small_disk.journal_dir, buffer_rows=100, journal=mode)
    recorder.start()
    proxy.cut()
    wait_until(lambda: not recorder.stats().database_ok)  # noticed with no row to write
    kept = [sample(index) for index in range(before)]
    recorder.record_many(kept)
    assert recorder.stats().spilled == before - min(before, 100)

    small_disk.fill()
    kept += record_until_refused(recorder, before)
    stats = recorder.stats()
    assert {DATABASE_UNREACHABLE, JOURNAL_DEGRADED, BUFFER_FULL} <= set(stats.reasons)
    if mode == "best-effort":
        assert 0 < stats.unjournaled <= 100 - before  # a few lines may fit in the last page
    with pytest.raises(InferenceNotKept):
        recorder.record_many([sample(index, "batch") for index in range(10)])

    small_disk.free()
    proxy.restore()
    wait_until(lambda: recorder.stats().backlog == 0)
    wait_until(lambda: recorder.stats().reasons == ())
    recorder.stop()
    assert stored_ids(postgres_url) == ids(kept)
    assert list(small_disk.journal_dir.iterdir()) == []


@pytest.mark.postgres
def test_rows_kept_in_memory_are_journaled_once_the_disk_has_room(
    postgres_url: str, proxied_url: str, proxy: TcpProxy, small_disk: SmallDisk
) -> None:
    recorder = fast_recorder(proxied_url, small_disk.journal_dir, journal="best-effort")
    recorder.start()
    proxy.cut()
    small_disk.fill()
    kept = [sample(index) for index in range(40)]
    for row in kept:
        recorder.record(row)
    assert recorder.stats().unjournaled == 40  # a fresh segment: not even a page to fill
    small_disk.free()  # the database is still down: the journal takes the rows
    wait_until(lambda: recorder.stats().unjournaled == 0)
    assert recorder.stats().journal_ok
    recorder.stop(timeout=0.5)  # the database is down: they stay in the journal
    assert recorder.stats().dropped == 0

    proxy.restore()
    with Recorder(proxied_url, small_disk.journal_dir) as successor:
        assert successor.stats().replayed == 40
    assert stored_ids(postgres_url) == ids(kept)
    assert list(small_disk.journal_dir.iterdir()) == []


@pytest.mark.postgres
def test_rows_kept_in_memory_are_journaled_at_stop_or_counted_as_dropped(
    postgres_url: str, proxied_url: str, proxy: TcpProxy, small_disk: SmallDisk
) -> None:
    recorder = fast_recorder(proxied_url, small_disk.journal_dir, journal="best-effort")
    recorder.start()
    proxy.cut()
    small_disk.fill()
    recorder.record_many([sample(index) for index in range(40)])
    assert recorder.stats().unjournaled == 40
    recorder.stop(timeout=0.5)  # neither the database nor the disk takes them: lost, counted
    assert recorder.stats().dropped == 40


@pytest.mark.postgres
def test_an_idle_writer_notices_the_database_going_away(
    proxied_url: str, proxy: TcpProxy, journal_dir: Path
) -> None:
    with fast_recorder(proxied_url, journal_dir) as recorder:
        assert recorder.stats().database_ok
        proxy.cut()
        wait_until(lambda: not recorder.stats().database_ok)  # no row recorded: the ping
        assert DATABASE_UNREACHABLE in recorder.stats().reasons
        proxy.restore()
        wait_until(lambda: recorder.stats().database_ok)
