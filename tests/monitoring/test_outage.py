"""PostgreSQL going away behind a proxy: record() keeps returning, every row lands once after."""

from __future__ import annotations

from pathlib import Path

import pytest

from spendcast.monitoring import Recorder, count_rows, read_rows
from tests.monitoring.support import sample, wait_until
from tests.support.postgres import TcpProxy

pytestmark = pytest.mark.postgres


def test_rows_recorded_during_an_outage_land_once(
    postgres_url: str, proxied_url: str, proxy: TcpProxy, journal_dir: Path
) -> None:
    recorder = Recorder(
        proxied_url,
        journal_dir,
        batch_size=20,
        flush_seconds=0.05,
        buffer_rows=50,
        segment_rows=40,
        retry_max_seconds=0.2,
    )
    recorder.start()
    for index in range(30):
        recorder.record(sample(index))
    wait_until(lambda: count_rows(postgres_url) == 30)

    proxy.cut()
    for index in range(30, 230):
        recorder.record(sample(index))
    wait_until(lambda: recorder.stats().failed_batches > 0)
    stats = recorder.stats()
    assert not stats.database_ok
    assert stats.backlog == 200
    assert stats.spilled == 150  # 50 fit in memory, the rest is only in the journal
    assert count_rows(postgres_url) == 30

    proxy.restore()
    wait_until(lambda: recorder.stats().backlog == 0)
    recorder.stop()
    stats = recorder.stats()
    assert stats.database_ok
    assert stats.written == 230
    ids = [row["id"] for row in read_rows(postgres_url)]
    assert sorted(ids) == [sample(index).id for index in range(230)]
    assert list(journal_dir.iterdir()) == []


def test_start_while_the_database_is_down(
    postgres_url: str, proxied_url: str, proxy: TcpProxy, journal_dir: Path
) -> None:
    proxy.cut()
    recorder = Recorder(proxied_url, journal_dir, flush_seconds=0.05, retry_max_seconds=0.2)
    recorder.start()
    recorder.record_many([sample(index) for index in range(40)])
    assert recorder.stats().running
    assert not recorder.stats().database_ok
    proxy.restore()
    wait_until(lambda: recorder.stats().backlog == 0)
    recorder.stop()
    assert count_rows(postgres_url) == 40


def test_stop_while_the_database_is_down_leaves_the_rows_to_the_next_start(
    postgres_url: str, proxied_url: str, proxy: TcpProxy, journal_dir: Path
) -> None:
    recorder = Recorder(proxied_url, journal_dir, flush_seconds=0.05, buffer_rows=10)
    recorder.start()
    proxy.cut()
    for index in range(60):
        recorder.record(sample(index))
    recorder.stop(timeout=0.5)
    assert recorder.stats().backlog == 60
    assert count_rows(postgres_url) == 0
    assert list(journal_dir.glob("*.jsonl"))

    proxy.restore()
    with Recorder(proxied_url, journal_dir) as successor:
        assert successor.stats().replayed == 60
    assert count_rows(postgres_url) == 60
    assert list(journal_dir.iterdir()) == []
