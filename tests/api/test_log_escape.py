"""The server's own log: request-derived text in a message or a traceback cannot start a line."""

from __future__ import annotations

import logging
import sys

from spendcast.api.log_escape import EscapingFormatter

FORGED = "/predict\nINFO:     2099-01-01 forged\r\x1b[2Kline\u2028too"


def _format(record: logging.LogRecord) -> list[str]:
    return (
        EscapingFormatter("%(levelprefix)s %(message)s", use_colors=False)
        .format(record)
        .split("\n")
    )


def test_a_message_is_one_line() -> None:
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "bad path %s", (FORGED,), None)
    lines = _format(record)
    assert lines == [
        "WARNING:  bad path /predict\\nINFO:     2099-01-01 forged\\r\\x1b[2Kline\\u2028too"
    ]


def test_a_traceback_is_indented_under_its_record() -> None:
    try:
        raise ValueError(FORGED)
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), exc_info)
    lines = _format(record)
    assert lines[0] == "ERROR:    failed"
    assert len(lines) > 2
    assert all(line.startswith("    ") for line in lines[1:])  # nothing starts a record
    assert any("ValueError: /predict" in line for line in lines)
    assert "    INFO:     2099-01-01 forged\\r\\x1b[2Kline\\u2028too" in lines  # indented, escaped
