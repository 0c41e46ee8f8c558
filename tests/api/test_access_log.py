"""The API log file: escaped fields (no request can forge a line), timestamps with their UTC
offset, JSON lines, and reopening after a rotation."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from spendcast.api import access_log
from spendcast.api.access_log import AccessLog, Entry, format_json, format_line
from spendcast.api.app import create_app
from spendcast.api.log_escape import escape
from tests.api.conftest import make_settings

CONTROLS = "".join(map(chr, [*range(0x20), 0x7F, *range(0x80, 0xA0)]))
BREAKERS = CONTROLS + "\u2028\u2029\u202e\ufeff \\"
FORGED = "/predict\n2099-01-01T00:00:00.000+00:00 127.0.0.1:1 GET /train 200 0.1ms"
TEXT_LINE = re.compile(
    r"^(?P<time>\S+) (?P<client>\S+) (?P<method>[A-Z]+) (?P<path>/\S*) (?P<status>\d{3}) "
    r"(?P<ms>\d+\.\d\d)ms$"
)


def _unescape(field: str) -> str:
    return field.encode("latin-1", "backslashreplace").decode("unicode_escape")


@given(st.text())
def test_an_escaped_field_is_one_printable_word_that_reads_back_exactly(text: str) -> None:
    escaped = escape(text)
    assert escaped.isprintable()
    assert " " not in escaped
    assert len(escaped.splitlines()) <= 1
    assert _unescape(escaped) == text


def test_every_line_breaking_or_control_character_is_escaped() -> None:
    for char in BREAKERS:
        escaped = escape(f"/a{char}b")
        assert escaped != f"/a{char}b"
        assert escaped.isascii()
        assert _unescape(escaped) == f"/a{char}b"
    assert escape("/prédiction") == "/prédiction"  # printable text stays readable


def test_a_forged_path_stays_on_its_line() -> None:
    entry: Entry = (0.0, "127.0.0.1:1", "GET", FORGED + BREAKERS, 404, 0.5)
    line = format_line(entry)
    assert line.endswith("\n")
    assert len(line.splitlines()) == 1
    match = TEXT_LINE.match(line.rstrip("\n"))
    assert match, line
    assert _unescape(match["path"]) == FORGED + BREAKERS
    assert match["status"] == "404"


def test_a_json_line_keeps_exact_values_on_one_line() -> None:
    entry: Entry = (0.0, "10.0.0.1\x85:1", "GET", FORGED + BREAKERS + "\udc80", 200, 0.123456)
    line = format_json(entry)
    assert line.endswith(b"\n")
    assert line.isascii()  # every line separator and control character is \u-escaped
    assert len(line.decode().splitlines()) == 1
    document = json.loads(line)
    assert document["path"] == FORGED + BREAKERS + "\\udc80"  # a lone surrogate, as text
    assert document["client"] == "10.0.0.1\x85:1"
    assert (document["method"], document["status"], document["duration_ms"]) == ("GET", 200, 0.123)
    assert datetime.fromisoformat(document["time"]).utcoffset() is not None


def test_timestamps_carry_their_utc_offset() -> None:
    line = format_line((1_700_000_000.25, "c", "GET", "/", 200, 1.0))
    stamp = datetime.fromisoformat(line.split(" ")[0])
    assert stamp.utcoffset() is not None
    assert stamp.timestamp() == 1_700_000_000.25


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_app_logs_a_forging_path_as_one_line(workdir: Path, log_format: str) -> None:
    settings = make_settings(workdir, log_format=log_format)
    forging = "/predict%0A2099-01-01T00:00:00.000%20evil%20GET%20/train%20200%200.1ms"
    with TestClient(create_app(settings)) as client:
        assert client.get(forging).status_code == 404
        assert client.get("/predict%E2%80%A8x%C2%85y").status_code == 404
        assert client.get("/health").status_code == 200
    lines = settings.log_file.read_text().splitlines()
    assert len(lines) == 3
    if log_format == "json":
        paths = [json.loads(line)["path"] for line in lines]
        assert paths == [
            "/predict\n2099-01-01T00:00:00.000 evil GET /train 200 0.1ms",
            "/predict\u2028x\x85y",
            "/health",
        ]
    else:
        matches = [TEXT_LINE.match(line) for line in lines]
        assert all(matches), lines
        assert [m["path"] for m in matches if m] == [
            "/predict\\n2099-01-01T00:00:00.000\\x20evil\\x20GET\\x20/train\\x20200\\x200.1ms",
            "/predict\\u2028x\\x85y",
            "/health",
        ]


def _written(log: AccessLog, path: str, count: int) -> None:
    for i in range(count):
        log.write("c", "GET", f"{path}/{i}", 200, 1.0)


def test_a_moved_or_deleted_file_is_reopened_and_no_line_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "api.log"
    log = AccessLog(path, flush_seconds=0.01)
    log.start()
    _written(log, "/before", 50)
    path.rename(tmp_path / "logs" / "api.log.1")  # logrotate without copytruncate
    _written(log, "/after", 50)
    log.stop()
    rotated = (tmp_path / "logs" / "api.log.1").read_text().splitlines()
    fresh = path.read_text().splitlines()
    assert len(rotated) + len(fresh) == 100
    # Every line queued after the rename is in the new file (with those still queued then).
    assert sum(" /after/" in line for line in fresh) == 50
    assert all(" /before/" in line for line in rotated)

    log = AccessLog(path, flush_seconds=0.01)
    log.start()
    path.unlink()
    _written(log, "/deleted", 3)
    log.stop()
    assert len(path.read_text().splitlines()) == 3


def test_logrotate_create_mode_with_a_reopen_request(tmp_path: Path) -> None:
    path = tmp_path / "api.log"
    log = AccessLog(path, flush_seconds=0.01)
    log.start()
    _written(log, "/one", 1)
    log.stop()  # flushed into the first file
    log = AccessLog(path, flush_seconds=0.01)
    log.start()
    held = path.with_suffix(".old")
    path.rename(held)
    path.write_text("")  # logrotate's "create": a new empty file at the path
    log.reopen()  # what SIGHUP does
    _written(log, "/two", 2)
    log.stop()
    assert len(held.read_text().splitlines()) == 1
    assert len(path.read_text().splitlines()) == 2


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"])
def test_time_stamps_match_the_datetime_formatting_across_dst_changes(
    zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The writer works the offset out once per second: the result must stay the plain one.
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        access_log._whole_second.cache_clear()
        changes = [1667091600.0, 1679792400.0, 1699164000.0, 1711846800.0]  # DST, both ways
        instants = [at + step * 0.0999993 for at in changes for step in range(-40_000, 40_000)]
        stamps = [access_log._stamp(at) for at in instants]
        expected = [
            datetime.fromtimestamp(at).astimezone().isoformat(timespec="milliseconds")
            for at in instants
        ]
        assert stamps == expected
        if zone in ("Europe/Paris", "America/New_York"):  # both offsets met: the DST branch
            assert len({stamp[23:] for stamp in stamps}) == 2
    finally:
        monkeypatch.undo()
        time.tzset()
        access_log._whole_second.cache_clear()
