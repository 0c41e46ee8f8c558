"""What a running ``spendcast serve`` logged and recorded during a block, read while it keeps
serving: the tests of a module then share one server (a start costs ~5 CPU-seconds here).

The API log and the inference log are each written by one thread, in the order the requests
were answered, a fraction of a second later. ``settle`` sends a marker to each and waits until
both are written: a one-row ``POST /predict`` (its income ``MARKER_INCOME`` + a counter, which
no test's customer earns), then, once that row is in the database, ``GET /ledger-mark-N`` (a
404 line). Everything answered before the markers is then written too. A ``Window`` holds what
came between two settles, markers left out: the log lines, and the rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from spendcast.monitoring import read_rows
from tests.support.server import Server, running_server, serve_from

MARKER_INCOME = 4321.0625
SETTLE_TIMEOUT_S = 60.0
T = TypeVar("T")


@dataclass
class Window:
    """What the server answered inside a ``Ledger.window`` block (filled in when it ends)."""

    lines: list[str] = field(default_factory=list)  # API log lines, oldest first
    rows: int = 0  # inference-log rows

    def logged(self, method: str, path: str, status: int = 200) -> int:
        return sum(f" {method} {path} {status} " in line for line in self.lines)


@dataclass(frozen=True)
class _Mark:
    line: int  # index of the 404 marker's line in the API log
    row: int  # index of the marker's row in the inference log


class Ledger:
    """Windows on one running server's two logs (``token``: the server's, for the markers)."""

    def __init__(self, server: Server, token: str | None) -> None:
        self.server = server
        self._cookies = {"spendcast_token": token} if token else {}
        self._marks = count()

    @contextmanager
    def window(self) -> Iterator[Window]:
        """The lines and rows of the requests answered inside the block."""
        before = self._settle()
        window = Window()
        yield window
        after = self._settle()
        lines = self._lines()[before.line + 1 : after.line]
        marker = max(i for i, line in enumerate(lines) if " POST /predict 200 " in line)
        window.lines = lines[:marker] + lines[marker + 1 :]
        window.rows = after.row - before.row - 1

    def _settle(self) -> _Mark:
        mark = next(self._marks)
        income = MARKER_INCOME + mark
        row = {"education": "PhD", "age": 42, "income": income}
        posted = httpx.post(f"{self.server.url}/predict", json=[row], cookies=self._cookies,
                            timeout=30)  # fmt: skip
        assert posted.status_code == 200, posted.text
        row_index = _wait(lambda: _last(self._incomes(), lambda value: value == income))
        path = f"/ledger-mark-{mark}"
        assert httpx.get(self.server.url + path, timeout=30).status_code == 404
        line_index = _wait(lambda: _last(self._lines(), lambda line: f" {path} " in line))
        return _Mark(line_index, row_index)

    def _lines(self) -> list[str]:
        return self.server.log_path.read_text(encoding="utf-8").splitlines()

    def _incomes(self) -> list[float]:
        return [row["income"] for row in read_rows(f"sqlite:///{self.server.database_path}")]


def _last(items: list[T], matches: Callable[[T], bool]) -> int | None:
    """The index of the last item that ``matches``, if any."""
    return next((i for i in range(len(items) - 1, -1, -1) if matches(items[i])), None)


def _wait(find: Callable[[], int | None]) -> int:
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while (found := find()) is None:
        assert time.monotonic() < deadline, "the server did not write its marker"
        time.sleep(0.05)
    return found


@contextmanager
def shared_server(directory: Path, model_dir: Path, token: str) -> Iterator[Ledger]:
    """``spendcast serve`` in ``directory`` on a copy of ``model_dir``, as the ``workdir``
    fixture sets it up (no other SPENDCAST_ variable); it must stop cleanly at the end."""
    with (
        pytest.MonkeyPatch.context() as env,
        running_server(serve_from(directory, model_dir, env), token=token) as server,
    ):
        yield Ledger(server, token)
        assert server.stop() in (0, -15)
