"""The real ``spendcast`` CLI run inside the test process: no Python start, no re-import.

For commands that start no load (compare of stored runs, report, history, usage errors): a
subprocess would spend most of its CPU importing what the test worker has already imported.
The command line is ``sys.argv`` while it runs, as ``python -m spendcast ARGS`` sees it (the
history records it); ``cwd`` and ``env`` are set for the call and restored after. Commands
that start Locust or a server stay subprocesses: their signals and children are per process.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterator, Mapping
from contextlib import chdir, contextmanager
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from spendcast.cli import main


@dataclass(frozen=True)
class Done:
    """What a run of the CLI left: its exit code and what it printed (as ``CompletedProcess``)."""

    returncode: int
    stdout: str
    stderr: str


def spendcast(
    *args: str, cwd: Path | None = None, env: Mapping[str, str | None] | None = None
) -> Done:
    """``spendcast ARGS`` in ``cwd`` with ``env`` added to (or, ``None`` values, removed from)
    the environment."""
    with _argv(["spendcast", *args]), chdir(cwd or Path.cwd()):
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        # What the interpreter would print: the traceback, on stderr, exit code 1.
        trace = "".join(traceback.format_exception(result.exception))
        return Done(1, result.stdout, result.stderr + trace)
    return Done(result.exit_code, result.stdout, result.stderr)


@contextmanager
def _argv(argv: list[str]) -> Iterator[None]:
    saved = sys.argv
    sys.argv = argv
    try:
        yield
    finally:
        sys.argv = saved
