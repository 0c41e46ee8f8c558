"""One typed settings object, read from ``SPENDCAST_*`` environment variables.

Every field has an embedded default so that nothing must be configured to run.
Nothing here touches the disk or the network at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

JournalMode = Literal["required", "best-effort"]  # see Settings.recorder_journal


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SPENDCAST_", extra="ignore")

    model_dir: Path = Field(Path("models"), description="Where model artifacts live.")
    dataset_path: Path | None = Field(
        None, description="Training CSV; the dataset shipped with the package when unset."
    )
    database_url: str = Field(
        "sqlite:///spendcast.db", description="Inference log database (SQLite or PostgreSQL)."
    )
    log_file: Path = Field(Path("api_logfile.log"), description="One line per API call.")
    api_token: SecretStr | None = Field(
        None, description="When set, /predict and /train need this token (cookie or bearer)."
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
    model_poll_seconds: float = Field(
        1.0, gt=0, description="How often each worker checks for a newly trained model."
    )
