"""Appending runs to the store: each run as it ends (``record_run``), older run directories
(``import_run``).

``record_run`` is what every command calls last (``loadtest``, ``capacity``, ``compare``, and
the web UI for its runs). It writes the run's context beside it (``history.json``) first, then
appends; it never fails the run: when the store cannot take it (unreachable, newer, unreadable
run) it says so in one warning line and the run stays importable from its directory.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Final

from spendcast.errors import HistoryError
from spendcast.loadtest.history.metadata import RunMetadata, gather
from spendcast.loadtest.history.record import RunRecord, document_kind, read_record
from spendcast.loadtest.history.store import DEFAULT_URL, HISTORY_URL_ENV, HistoryStore
from spendcast.loadtest.shared.contract import CAPACITY_FILE, SUMMARY_FILE

# The kind of a run found in a directory without history.json, by its document.
KIND_OF_DOCUMENT: Final = {"run": "loadtest", "capacity": "capacity", "compare": "compare"}


def store_url(environ: Mapping[str, str] | None = None) -> str:
    """``SPENDCAST_HISTORY_URL``, or the SQLite file ``runs/history.db`` of this directory."""
    return (os.environ if environ is None else environ).get(HISTORY_URL_ENV) or DEFAULT_URL


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def record_run(
    run_dir: Path,
    kind: str,
    *,
    url: str | None = None,
    argv: Sequence[str] | None = None,
    warmup_s: float | None = None,
    warn: Callable[[str], None] = _stderr,
) -> RunRecord | None:
    """Append the run that just ended in ``run_dir`` (``kind``: ``loadtest``, ``capacity``,
    ``compare``, ``ui``) to the store at ``url`` (default ``store_url()``); its record, with
    its id, or ``None`` after one warning line when it could not be kept there."""
    try:
        meta = gather(kind, host=_host(run_dir), argv=sys.argv if argv is None else argv,
                      cwd=Path.cwd(), warmup_s=warmup_s)  # fmt: skip
        meta.write(run_dir)
        record = read_record(run_dir, meta)
        with HistoryStore(url or store_url()) as store:
            run_id, _ = store.append(record)
    except (HistoryError, ValueError, OSError) as error:
        warn(f"warning: the run is not in the history ({error}); keep it with: "
             f"spendcast history import {run_dir}")  # fmt: skip
        return None
    return replace(record, id=run_id)


def import_run(run_dir: Path, store: HistoryStore) -> tuple[RunRecord, bool]:
    """Append an existing run directory; ``(record, new)`` (``new`` false: it was there)."""
    record = directory_record(run_dir)
    run_id, new = store.append(record)
    return replace(record, id=run_id), new


def directory_record(run_dir: Path) -> RunRecord:
    """The record of an existing run directory, from its ``history.json`` if it has one, else
    from what can still be known (the machine here; no command, commit or model).
    ``ValueError``: not a run directory."""
    meta = RunMetadata.read(run_dir)
    if meta is None:
        document = document_kind(run_dir)
        if document is None:
            raise ValueError(f"{run_dir}: no summary.json, capacity.json or comparison.json: "
                             "not a run")  # fmt: skip
        meta = gather(KIND_OF_DOCUMENT[document], host=None, argv=None, cwd=run_dir,
                      imported=True)  # fmt: skip
    return read_record(run_dir, meta)


def _host(run_dir: Path) -> str | None:
    """The host a run (or capacity search) loaded, to ask it which model it serves."""
    for name in (CAPACITY_FILE, SUMMARY_FILE):
        path = run_dir / name
        if path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))
            host = data.get("host") or data.get("config", {}).get("host")
            return str(host) if host else None
    return None
