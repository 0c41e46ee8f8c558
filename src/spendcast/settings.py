"""One typed settings object, read from ``SPENDCAST_*`` environment variables.

Every field has an embedded default so that nothing must be configured to run.
Nothing here touches the disk or the network at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

JournalMode = Literal["required", "best-effort"]  # see Settings.recorder_journal


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SPENDCAST_", extra="ignore")

    model_dir: Path = Field(Path("models"), description="Where model artifacts live.")
    model_keep: int = Field(
        5,
        ge=1,
        description="How many trained models each training keeps in model_dir: the newest, "
        "and always the current one; older artifacts are deleted.",
    )
    dataset_path: Path | None = Field(
        None, description="Training CSV; the dataset shipped with the package when unset."
    )
    database_url: str = Field(
        "sqlite:///spendcast.db", description="Inference log database (SQLite or PostgreSQL)."
    )
    log_file: Path = Field(Path("api_logfile.log"), description="One line per API call.")
    log_format: Literal["text", "json"] = Field(
        "text", description="The API log file's format: text lines, or one JSON object a line."
    )
    api_token: SecretStr | None = Field(
        None,
        description="When set, /predict and /train need this token (cookie or bearer): "
        "printable ASCII without spaces, quotes, commas, semicolons or backslashes.",
    )
    max_header_bytes: int = Field(
        32 * 1024,
        ge=1024,
        description="Largest header section (names, values, separators) a request may carry; "
        "over it, 431 before the app sees the request.",
    )
    head_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="Longest a connection may take to send a request's head (from its opening, "
        "or from the head's first byte on a kept-alive connection); then 408, or a silent close "
        "if it sent nothing.",
    )
    max_connections: int | None = Field(
        None,
        ge=1,
        description="Most open connections per worker; over it, the connection waiting longest "
        "for its head is closed to make room, else 503. Never more than the worker's "
        "file-descriptor limit (RLIMIT_NOFILE) less 128 kept for its own files, the cap when "
        "unset.",
    )
    batch_limit: int = Field(1000, ge=1, description="Most rows accepted by POST /predict.")
    recorder_batch_size: int = Field(500, ge=1, description="Rows per database transaction.")
    recorder_flush_seconds: float = Field(
        0.2, gt=0, description="Longest a recorded row waits before its batch is written."
    )
    recorder_buffer_rows: int = Field(
        50_000, ge=1, description="Rows held in memory while the database is down, then spilled."
    )
    recorder_fsync: bool = Field(
        False,
        description="fsync each journal line: rows then survive a machine crash, not only a "
        "process kill (costs ~0.1 ms per prediction, see docs/inference-log.md).",
    )
    recorder_journal: JournalMode = Field(
        "required",
        description="What a failed journal write (disk full) means. required: /predict answers "
        "503 and records nothing, so every 200 survives a process kill; best-effort: answer 200 "
        "and keep the row in memory only (lost if the worker dies before the journal or the "
        "database takes it), 503 once the memory buffer is full too.",
    )
    journal_dir: Path = Field(
        Path("journal"), description="Append-only spill files replayed when the database returns."
    )
    model_cache_dir: Path | None = Field(
        None,
        description="Where spendcast serve keeps each model it compiled, between starts: a "
        "start on a model compiled before (same bytes, same spendcast and libraries) skips "
        "the load (~1-2.5 CPU-seconds, scikit-learn's import). Only this user may write it "
        "(made 0700 if missing). Unset: a private directory removed when the server stops.",
    )
    model_poll_seconds: float = Field(
        1.0, gt=0, description="How often each worker checks for a newly trained model."
    )
    model_store: str | None = Field(
        None,
        description="Where artifacts and the current version live for every replica: a "
        "directory, or a PostgreSQL URL (postgresql+psycopg://...); model_dir when unset.",
    )

    @field_validator("model_cache_dir", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("api_token")
    @classmethod
    def _sendable_token(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None:
            problem = token_problem(token.get_secret_value())
            if problem is not None:
                raise ValueError(problem)
        return token


# What RFC 6265 allows in a cookie value, which an Authorization header allows as well.
_COOKIE_OCTETS = frozenset(chr(c) for c in range(0x21, 0x7F)) - set('",;\\')


def token_problem(token: str) -> str | None:
    """Why ``token`` cannot be sent both in a Cookie and in an Authorization header, or None.

    The message names the first bad character (a code point when it is not printable ASCII),
    never the token itself nor where the character sits in it. An empty token is refused:
    a variable that is set must be a usable token, not a silent "no auth".
    """
    if not token:
        return (
            "the token is empty: set a token, or unset the variable to serve without one "
            "(then /predict needs no token and POST /train is off)"
        )
    for char in token:
        if char not in _COOKIE_OCTETS:
            return (
                f"the token holds {_kind(char)}: it must be printable ASCII without spaces or "
                'any of " , ; \\ to be sent in a Cookie or Authorization header'
            )
    return None


def _kind(char: str) -> str:
    if char == " ":
        return "a space"
    if not char.isascii():
        return f"a non-ASCII character (U+{ord(char):04X})"
    if not char.isprintable():
        return f"a control character (U+{ord(char):04X})"
    return f"the character {char} (U+{ord(char):04X})"
