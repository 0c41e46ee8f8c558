"""The inference log's files removed or replaced under a serving API, as an operator's clean-up
script, a rotated volume or a restore would do, while an outside process holds SQLite's write
lock: the API notices within a second or two, says so on ``/ready``, recreates what it can, and
every request answered 200 is exactly one row in the end, across a ``kill -9`` and a SIGTERM.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.reliability.support import (
    Load,
    journaled_bytes,
    readiness,
    recorded_incomes,
    serve,
    sqlite_write_lock,
    wait_until,
)
from tests.support.server import Server, worker_pids

pytestmark = [pytest.mark.e2e]

NOTICE_SECONDS = 3.0  # "within a second or two", with room for a loaded CI machine


def database_url(server: Server) -> str:
    return f"sqlite:///{server.database_path}"


def not_ready_with(server: Server, reason: str) -> bool:
    code, reasons = readiness(server)
    return code == 503 and reason in reasons


def assert_every_200_is_one_row(load: Load, incomes: list[float]) -> None:
    assert [income for income, n in Counter(incomes).items() if n > 1] == []
    answered = set(load.ok)
    assert sorted(answered - set(incomes)) == []  # no 200 lost
    assert set(incomes) - answered <= set(load.failed)  # extra rows: requests cut by a kill


def test_journal_removed_under_a_locked_database_then_kill_9_and_sigterm_lose_nothing(
    workdir: Path,
) -> None:
    # The audit's case: SQLite write-locked from outside, a small buffer (rows spill to the
    # journal only), the journal directory deleted, then a worker killed and a plain SIGTERM.
    journal = workdir / "journal"
    env = {"SPENDCAST_RECORDER_BUFFER_ROWS": "200"}
    with serve(workdir, workers=2, env=env) as server, Load(server.url) as load:
        # serve() returns once one worker answers; the other may still be loading the model.
        wait_until(lambda: len(list(journal.glob("*.lock"))) == 2, 120, "both recorders")
        load.wait_for(200)
        with sqlite_write_lock(server.database_path):
            wait_until(lambda: not_ready_with(server, "database unreachable"), NOTICE_SECONDS)
            load.wait_for(600)  # more than the buffer of either worker: rows spill
            shutil.rmtree(journal)
            removed_at = time.monotonic()
            wait_until(lambda: len(list(journal.glob("*.lock"))) == 2, NOTICE_SECONDS)
            assert time.monotonic() - removed_at < NOTICE_SECONDS
            load.wait_for(300)
            sizes = journaled_bytes(journal)
            victim = max(worker_pids(server), key=lambda pid: sizes.get(pid, 0))
            assert sizes[victim] > 0  # its rows were journaled again, in the new directory
            os.kill(victim, signal.SIGKILL)
            load.wait_for(100)
            load.stop()
            server.process.send_signal(signal.SIGTERM)  # while the database is still locked
            time.sleep(1.0)
        assert server.stop(timeout=60) == 0

    with serve(workdir, workers=1) as server:  # replays the killed worker's journal
        assert server.stop() == 0
    assert_every_200_is_one_row(load, recorded_incomes(database_url(server)))
    assert list(journal.iterdir()) == []
    log = (workdir / "serve.log").read_text()
    assert "journal recreated" in log
    assert "stay in journal" not in log


def test_a_journal_that_cannot_be_recreated_refuses_predictions_then_recovers(
    workdir: Path,
) -> None:
    journal = workdir / "journal"
    with serve(workdir) as server, Load(server.url) as load:
        load.wait_for(200)
        shutil.rmtree(journal)
        journal.write_bytes(b"")  # a file where the directory was: mkdir fails
        wait_until(lambda: not_ready_with(server, "journal degraded"), NOTICE_SECONDS)
        wait_until(lambda: len(load.refused) > 0, NOTICE_SECONDS, "503s while degraded")
        journal.unlink()
        wait_until(lambda: readiness(server) == (200, []), NOTICE_SECONDS, "/ready 200 again")
        load.wait_for(200)
        load.stop()
        assert server.stop() == 0
    assert load.retry_after == {"1"}
    incomes = recorded_incomes(database_url(server))
    assert incomes == sorted(load.ok)  # every 200 one row, no row for a 503
    assert list(journal.iterdir()) == []


def test_a_database_file_replaced_then_a_worker_killed_under_load_gets_every_row(
    workdir: Path,
) -> None:
    # A restore: the file is replaced by a copy taken while the writes waited on an outside
    # lock. Rows the server commits afterwards into its open (old) file are written again.
    journal = workdir / "journal"
    with serve(workdir, workers=2) as server, Load(server.url) as load:
        load.wait_for(300)
        path = server.database_path
        with sqlite_write_lock(path):
            wait_until(lambda: not_ready_with(server, "database unreachable"), NOTICE_SECONDS)
            load.wait_for(300)
            shutil.copyfile(path, workdir / "copy.db")
            os.replace(workdir / "copy.db", path)
        load.wait_for(300)
        wait_until(lambda: readiness(server) == (200, []), NOTICE_SECONDS, "/ready 200 again")

        # Then a worker killed: its replacement loads the model before its recorder starts
        # (20-40 s on a busy machine); the surviving worker's orphan scan replays the journal.
        sizes = journaled_bytes(journal)
        victim = max(worker_pids(server), key=lambda pid: sizes.get(pid, 0))
        assert sizes[victim] > 0
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: victim not in journaled_bytes(journal), 10, "the journal replayed")
        load.wait_for(100)
        load.stop()
        assert server.stop() == 0
    assert_every_200_is_one_row(load, recorded_incomes(database_url(server)))
    assert list(journal.iterdir()) == []
    assert "was deleted or replaced" in (workdir / "serve.log").read_text()


def test_a_database_file_deleted_under_load_is_created_again(workdir: Path) -> None:
    with serve(workdir) as server, Load(server.url) as load:
        load.wait_for(300)
        server.database_path.unlink()
        deleted_after = len(load.ok)
        wait_until(server.database_path.exists, NOTICE_SECONDS, "a new database file")
        load.wait_for(300)
        load.stop()
        assert server.stop() == 0
    incomes = recorded_incomes(database_url(server))
    assert [income for income, n in Counter(incomes).items() if n > 1] == []
    assert set(load.ok[deleted_after:]) <= set(incomes)  # every 200 since the deletion
    assert set(incomes) <= set(load.ok)


def test_database_side_files_tampered_with_are_an_error_never_a_crash(workdir: Path) -> None:
    # With WAL, a truncated "-shm" killed every worker with SIGBUS. Now no file of the database
    # is mapped; a journal path that cannot be created is a readiness-visible fault.
    path = workdir / "spendcast.db"
    with serve(workdir, workers=2) as server, Load(server.url) as load:
        workers = sorted(worker_pids(server))
        load.wait_for(300)
        shm = path.with_name(path.name + "-shm")
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            shm.write_bytes(b"")  # truncated, again and again
            time.sleep(0.05)
        rollback = path.with_name(path.name + "-journal")
        while not rollback.is_dir():  # SQLite may create the file again between the two calls
            rollback.unlink(missing_ok=True)
            with contextlib.suppress(FileExistsError):
                rollback.mkdir()  # SQLite cannot open its rollback journal
        wait_until(lambda: not_ready_with(server, "database unreachable"), NOTICE_SECONDS)
        load.wait_for(200)  # the journal keeps the rows meanwhile
        rollback.rmdir()
        wait_until(lambda: readiness(server) == (200, []), 10, "/ready 200 again")
        load.stop()
        assert sorted(worker_pids(server)) == workers  # none died
        for pid in workers:
            maps = Path(f"/proc/{pid}/maps").read_text()
            assert str(path) not in maps
        assert server.stop() == 0
    assert load.failed == []
    assert recorded_incomes(database_url(server)) == sorted(load.ok)
