"""What a request puts in a log is escaped, so that no request can forge a log line or field.

``escape`` turns a backslash into ``\\\\``, a space into ``\\x20`` and every character that is not
printable (ASCII and C1 controls, DEL, line and paragraph separators, format characters such as
right-to-left overrides) into its Python escape (``\\n``, ``\\x1b``, ``\\u2028``): what is left is
one line, one space-free field, for any reader (``str.splitlines`` included). Printable
non-ASCII text (``é``) is kept. ``EscapingFormatter`` does the same for the server's own log.
"""

from __future__ import annotations

import logging

from uvicorn.logging import DefaultFormatter

_ASCII = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F)}
_ASCII |= {ord("\\"): "\\\\", ord(" "): "\\x20", ord("\t"): "\\t", ord("\n"): "\\n"}
_ASCII[ord("\r")] = "\\r"


def escape(text: str) -> str:
    """``text`` as one space-free field of printable characters (see the module docstring)."""
    if text.isascii():
        if text.isprintable() and " " not in text and "\\" not in text:
            return text
        return text.translate(_ASCII)
    return "".join(_escape_char(char) for char in text)


def _escape_char(char: str) -> str:
    if char.isprintable() and char != " ":
        return char.translate(_ASCII)
    code = ord(char)
    if code in _ASCII:
        return _ASCII[code]
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def escape_message(text: str) -> str:
    """A log message on one line: like ``escape`` but spaces and backslashes stay as they are."""
    if text.isprintable():
        return text
    return "".join(
        char if char.isprintable() or char == " " else _escape_char(char) for char in text
    )


class EscapingFormatter(DefaultFormatter):
    """uvicorn's formatter, with each record's message on one line and every further line of
    a traceback indented: a line that starts at column 0 is always a new record."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape_message(record.message)
        return super().formatMessage(record)

    def formatException(self, ei: logging._SysExcInfoType) -> str:
        return _indented(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return _indented(super().formatStack(stack_info))


def _indented(text: str) -> str:
    return "\n".join("    " + escape_message(line) for line in text.split("\n"))
