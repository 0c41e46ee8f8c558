"""Replay sources read into traces, and the trace's timetable (pure: no Locust, no server)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from spendcast.loadtest.run.replay import ReplayError, load_trace, parse_moment
from spendcast.loadtest.shared.trace import LEAD_S, OffsetSchedule, Trace, parse_speed
from spendcast.monitoring.database import Database
from spendcast.monitoring.inference import Inference

T0 = datetime(2026, 12, 6, 14, 0, 0, tzinfo=UTC)
CUSTOMERS = [("PhD", 42, 50000.0), ("Master", 30, 61234.5), ("High School", 19, 12000.25)]


def write_log(url: str, gaps_s: list[float]) -> list[Inference]:
    """Rows written with the monitoring's own table and insert, ``gaps_s`` apart from T0."""
    rows, at = [], T0
    for index, gap in enumerate([0.0, *gaps_s]):
        at += timedelta(seconds=gap)
        education, age, income = CUSTOMERS[index % len(CUSTOMERS)]
        rows.append(Inference(education, age, income, 1.0, "m1", created_at=at))
    database = Database(url)
    try:
        database.create_schema()
        database.insert(rows[::-1])  # stored out of order: the trace sorts by time
    finally:
        database.close()
    return rows


def customers(trace: Trace) -> list[tuple[str, int, float]]:
    out = []
    for request in trace.requests:
        query = dict(parse_qsl(request.query or ""))
        out.append((query["education"], int(query["age"]), float(query["income"])))
    return out


def test_an_inference_log_is_its_predictions_at_their_times(tmp_path: Path) -> None:
    rows = write_log(f"sqlite:///{tmp_path / 'log.db'}", [0.5, 0.25, 1.0, 0.125])
    trace = load_trace(str(tmp_path / "log.db"))
    assert trace.kind == "inference-log"
    assert [r.offset_s for r in trace.requests] == pytest.approx([0, 0.5, 0.75, 1.75, 1.875])
    assert {(r.method, r.path) for r in trace.requests} == {("GET", "/predict")}
    assert customers(trace) == [(r.education, r.age, r.income) for r in rows]
    assert trace.first_at == pytest.approx(T0.timestamp())


def test_since_and_until_keep_a_window(tmp_path: Path) -> None:
    write_log(f"sqlite:///{tmp_path / 'log.db'}", [1.0] * 9)  # T0 .. T0+9s
    url = f"sqlite:///{tmp_path / 'log.db'}"
    trace = load_trace(url, T0 + timedelta(seconds=3), T0 + timedelta(seconds=6))
    assert len(trace.requests) == 3  # 3, 4, 5: since included, until excluded
    assert trace.first_at == pytest.approx(T0.timestamp() + 3)
    assert parse_moment("2026-12-06T14:00:03") == T0 + timedelta(seconds=3)  # naive: UTC
    assert parse_moment("2026-12-06T15:00:03+01:00") == T0 + timedelta(seconds=3)


def test_access_logs_in_text_and_json(tmp_path: Path) -> None:
    text = tmp_path / "api.log"
    text.write_text(
        "2026-12-06T15:00:00.500+01:00 127.0.0.1:4000 GET /predict 200 100.00ms\n"
        "2026-12-06T15:00:00.300+01:00 127.0.0.1:4000 GET /health 200 0.30ms\n"
        "2026-12-06T15:00:01.000+01:00 127.0.0.1:4000 POST /pre\\x20dict 422 0.00ms\n",
        encoding="utf-8",
    )
    trace = load_trace(str(text))
    assert trace.kind == "access-log"
    # the time logged is the answer's: the request came its duration earlier
    assert [(r.offset_s, r.method, r.path, r.query) for r in trace.requests] == [
        (0.0, "GET", "/health", None),
        (pytest.approx(0.1003), "GET", "/predict", None),
        (pytest.approx(0.7003), "POST", "/pre dict", None),
    ]
    lines = [{"time": "2026-12-06T14:00:00.000+00:00", "client": "c", "method": "GET",
              "path": "/predict", "status": 200, "duration_ms": 0},
             {"time": "2026-12-06T14:00:02.000+00:00", "client": "c", "method": "GET",
              "path": "/predict", "status": 200, "duration_ms": 0}]  # fmt: skip
    jsonl = tmp_path / "api.jsonl"
    jsonl.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    assert [r.offset_s for r in load_trace(str(jsonl)).requests] == [0.0, 2.0]
    assert len(load_trace(str(jsonl), since=T0 + timedelta(seconds=1)).requests) == 1


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("missing.db", "no such file"),
        ("notes.txt", "line 1 is neither an inference log nor an access log line"),
        ("other.db", "not an inference log (no inference_log)"),
        ("sqlite:///missing.db", "no such file"),
        ("postgresql+psycopg://postgres@127.0.0.1:1/none", "cannot read it"),
        ("mysql+nothing://h/db", "not a usable database URL"),
    ],
)
def test_bad_sources_say_what_is_wrong(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, message: str
) -> None:
    import sqlite3

    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("hello world\n", encoding="utf-8")
    sqlite3.connect(tmp_path / "other.db").execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(ReplayError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_trace(source)


def test_an_empty_window_is_refused(tmp_path: Path) -> None:
    write_log(f"sqlite:///{tmp_path / 'log.db'}", [1.0])
    with pytest.raises(ReplayError, match="no request to replay in"):
        load_trace(str(tmp_path / "log.db"), since=T0 + timedelta(days=1))


def test_speed() -> None:
    assert parse_speed("2") == 2.0
    assert parse_speed("0.5") == 0.5
    assert parse_speed("MAX") is None
    for bad in ("0", "-1", "fast", "inf", "nan"):
        with pytest.raises(ValueError, match="a number above 0"):
            parse_speed(bad)


def test_the_timetable_splits_the_trace_in_order_across_processes() -> None:
    schedule = OffsetSchedule([0.0, 0.1, 0.1, 0.5, 2.0])
    assert [schedule.slot(0, 1, j) for j in range(6)] == [0.0, 0.1, 0.1, 0.5, 2.0, None]
    assert schedule.slots_by(0, 1, 0, until=0.2, limit=10) == [0.0, 0.1, 0.1]
    assert schedule.slots_by(1, 2, 0, until=9.0, limit=10) == [0.1, 0.5]  # k = 1, 3
    assert schedule.slots_by(0, 2, 1, until=9.0, limit=1) == [0.1]  # k = 2, at most one
    assert schedule.rate_at(0.3) == 4.0  # offsets within half a second of 0.3


def test_the_plan_lasts_the_trace_at_its_speed_and_holds_its_busiest_second(
    tmp_path: Path,
) -> None:
    write_log(f"sqlite:///{tmp_path / 'log.db'}", [0.1] * 9 + [5.0])  # 10 in 0.9 s, then one
    trace = load_trace(str(tmp_path / "log.db"))
    plan = trace.plan(1.0, max_users=100)
    assert plan.model == "rate"
    assert plan.duration_s == 8  # the lead, 5.9 s, half a second: whole seconds
    assert plan.start == 10.0
    assert trace.plan(2.0, 100).duration_s == 5  # 1 + 2.95 s + 0.5
    assert trace.offsets(2.0)[:2] == pytest.approx([LEAD_S, LEAD_S + 0.05])
    written = tmp_path / "trace.json"
    trace.write(written)
    assert Trace.read(written) == trace
