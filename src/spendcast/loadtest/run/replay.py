"""Replay of recorded traffic: the requests of an inference log or an access log, re-timed.

A source is read into a ``Trace``: each request's method, path and query (``None``: the source
kept no parameters) and its offset from the first one, in the order they came. Sources:

- the API's inference log (``docs/inference-log.md``): a SQLite file, or a database URL
  (``sqlite:///...``, ``postgresql+psycopg://...``); each row is ``GET /predict`` with its
  ``education``, ``age`` and ``income``, at its ``created_at``;
- the API's access log file (``docs/access-log.md``), text or JSON lines: each line is its
  method and path at the time the request came (the logged time, when the answer was done,
  minus the logged duration); it holds no query string.


``--since``/``--until`` keep the requests in ``[since, until)``; the ``Trace`` and its
timetable are in ``shared/trace.py``. ``ReplayError`` names what is wrong with a source (the
CLI: one line, exit 2).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Final
from urllib.parse import urlencode

from spendcast.loadtest.shared.trace import Replayed, Trace

SQLITE_MAGIC: Final = b"SQLite format 3\x00"
TABLE: Final = "inference_log"  # docs/inference-log.md (loadtest does not import monitoring)
COLUMNS: Final = ("created_at", "education", "age", "income")
CONNECT_TIMEOUT_S: Final = 3
DB: Final = "inference-log"
ACCESS_LOG: Final = "access-log"


class ReplayError(ValueError):
    """A source that cannot be replayed (missing, not a log, unreachable, nothing in window)."""


def parse_moment(text: str) -> datetime:
    """An ISO 8601 date or time (``2026-12-06``, ``2026-12-06T14:00+01:00``); naive is UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"invalid time {text!r}: ISO 8601, e.g. 2026-12-06T14:00:00Z") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def load_trace(source: str, since: datetime | None = None, until: datetime | None = None) -> Trace:
    """Read ``source`` (see the module docstring) within ``[since, until)``."""
    if "://" in source:
        found, shown, kind = _read_database(source, since, until), _hide_password(source), DB
    else:
        path = Path(source)
        if not path.is_file():
            raise ReplayError(f"replay source {source!r}: no such file")
        with path.open("rb") as file:
            is_sqlite = file.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
        if is_sqlite:
            found, kind = _read_database(f"sqlite:///{path.resolve()}", since, until), DB
        else:
            found, kind = _read_access_log(path, since, until), ACCESS_LOG
        shown = source
    if not found:
        window = f" in [{since or 'start'}, {until or 'end'})" if since or until else ""
        raise ReplayError(f"replay source {shown}: no request to replay{window}")
    found.sort(key=lambda entry: entry[0])
    first = found[0][0]
    requests = tuple(Replayed(at - first, m, p, q) for at, m, p, q in found)
    return Trace(requests, shown, kind, first)


_Entry = tuple[float, str, str, str | None]


def _read_database(url: str, since: datetime | None, until: datetime | None) -> list[_Entry]:
    from sqlalchemy import MetaData, Table, create_engine, select
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, NoSuchTableError, SQLAlchemyError

    shown = _hide_password(url)
    try:
        parsed = make_url(url)
        backend = parsed.get_backend_name()
        if backend == "sqlite" and not Path(parsed.database or "").is_file():
            raise ReplayError(f"replay source {shown}: no such file")
        args = {"connect_timeout": CONNECT_TIMEOUT_S} if backend == "postgresql" else {}
        engine = create_engine(parsed, connect_args=args)
    except (ArgumentError, NoSuchModuleError, ImportError) as error:
        raise ReplayError(f"replay source {shown}: not a usable database URL ({error})") from None
    try:
        table = Table(TABLE, MetaData(), autoload_with=engine)
        if not set(COLUMNS) <= set(table.c.keys()):
            raise ReplayError(f"replay source {shown}: its {TABLE} lacks {', '.join(COLUMNS)}")
        created = table.c.created_at
        query = select(*(table.c[name] for name in COLUMNS)).order_by(created, table.c.id)
        naive = backend == "sqlite"  # SQLite keeps naive UTC text (docs/inference-log.md)
        if since is not None:
            query = query.where(created >= (since.replace(tzinfo=None) if naive else since))
        if until is not None:
            query = query.where(created < (until.replace(tzinfo=None) if naive else until))
        with engine.connect() as connection:
            rows = connection.execute(query).all()
    except NoSuchTableError:
        raise ReplayError(f"replay source {shown}: not an inference log (no {TABLE})") from None
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise ReplayError(f"replay source {shown}: cannot read it ({reason})") from None
    finally:
        engine.dispose()
    entries: list[_Entry] = []
    for created_at, education, age, income in rows:
        at = created_at.replace(tzinfo=UTC) if created_at.tzinfo is None else created_at
        query_text = urlencode({"education": education, "age": age, "income": income})
        entries.append((at.timestamp(), "GET", "/predict", query_text))
    return entries


def _read_access_log(path: Path, since: datetime | None, until: datetime | None) -> list[_Entry]:
    low = -math.inf if since is None else since.timestamp()
    high = math.inf if until is None else until.timestamp()
    entries: list[_Entry] = []
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                done, method, route, duration_ms = _access_line(line)
            except (ValueError, KeyError, TypeError):
                raise ReplayError(
                    f"replay source {path}: line {number} is neither an inference log nor an "
                    "access log line (docs/access-log.md)"
                ) from None
            at = done - duration_ms / 1000.0  # the log's time is when the answer was done
            if low <= at < high:
                entries.append((at, method, route, None))
    return entries


def _access_line(line: str) -> tuple[float, str, str, float]:
    """``(epoch s, method, path, duration ms)`` of one line, text or JSON."""
    if line.lstrip().startswith("{"):
        data = json.loads(line)
        fields = [data["time"], data["method"], data["path"], float(data["duration_ms"])]
        return datetime.fromisoformat(fields[0]).timestamp(), fields[1], fields[2], fields[3]
    stamp, _client, method, route, _status, duration = line.split()
    if not duration.endswith("ms"):
        raise ValueError(duration)
    when = datetime.fromisoformat(stamp)
    if when.tzinfo is None:
        raise ValueError(stamp)
    return when.timestamp(), _unescape(method), _unescape(route), float(duration[:-2])


def _unescape(text: str) -> str:
    """A text field back to its exact value (docs/access-log.md)."""
    return text.encode("latin-1", "backslashreplace").decode("unicode_escape")


def _hide_password(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url
