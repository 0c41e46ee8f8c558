"""A user's own locustfile (``-f``): checked before the run, described in ``summary.json``.

``inspect_locustfile("my_test.py", ["ApiUser", "--my-option", "5"])`` makes each
comma-separated entry absolute from the current directory, then asks Locust's own loader and
parser, in a short-lived ``python -m spendcast.loadtest.locust.probe`` (this process never
imports Locust), which files, users and load shapes the entries hold, which of the words are
user classes and which options (the file's own ones too), and what Locust's configuration
(``locust.conf``, ``pyproject.toml``, ``LOCUST_*``) sets. The probe runs as Locust will run
(``runner``): in the user's directory (its data files and configuration are found), with it
first on ``PYTHONPATH``, as plain ``locust`` puts its working directory on ``sys.path``; Locust
itself puts each file's folder on ``sys.path`` while importing it, so the file imports its
neighbours. Whatever Locust would refuse is a ``LocustfileError`` of one line, e.g.
``my_test.py:3: NameError: name 'x' is not defined``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from spendcast.errors import LocustfileError
from spendcast.loadtest.shared.contract import PROBE_MODULE
from spendcast.loadtest.shared.probe_answer import ProbeRefusal, probe_answer
from spendcast.loadtest.shared.run_settings import LocustfileFacts, LocustfileFile

PROBE_TIMEOUT_S: Final = 60


@dataclass(frozen=True)
class UserLocustfile:
    """A checked locustfile: ``given`` as typed, its ``.py`` files (absolute), the user
    classes that run (``classes``) among ``available``, its load shapes, the directory its
    imports resolve from (``cwd``, where Locust runs) and each file's sha256; ``args``: the
    options given for Locust (the file's own ones too), passed on as typed; ``settings``: what
    Locust's configuration and ``args`` set, by option ``dest``; ``hosts``: each class's own
    ``host`` attribute."""

    given: str
    files: tuple[Path, ...]
    classes: tuple[str, ...]
    available: tuple[str, ...] = ()
    shapes: tuple[str, ...] = ()
    cwd: Path = field(default_factory=Path.cwd)
    sha256: Mapping[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)
    hosts: Mapping[str, str | None] = field(default_factory=dict)

    @property
    def own_host(self) -> str | None:
        """The ``host`` every class that runs declares, if they all declare the same one."""
        hosts = {self.hosts.get(name) for name in self.classes}
        host = hosts.pop() if len(hosts) == 1 else None
        return host or None

    @property
    def label(self) -> str:
        """What ``summary.json`` calls the scenario: ``my_test.py: ApiUser, AdminUser``."""
        names = ", ".join(f.name for f in self.files) if len(self.files) > 1 else self.files[0].name
        return f"{names}: {', '.join(self.classes)}"

    @property
    def stem(self) -> str:
        return self.files[0].stem

    def public(self) -> LocustfileFacts:
        """Paths, hashes and class names only: never a value the file holds."""
        files = tuple(LocustfileFile(str(f), self.sha256.get(str(f))) for f in self.files)
        return LocustfileFacts(self.given, files, tuple(self.available), tuple(self.shapes))

    def python_path(self, environ: Mapping[str, str]) -> str:
        """``PYTHONPATH`` for Locust: the user's directory first, as plain ``locust`` has it."""
        return os.pathsep.join(p for p in (str(self.cwd), environ.get("PYTHONPATH", "")) if p)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def absolute_entries(given: str, cwd: Path) -> list[str]:
    """``"a.py, tests/b.py"`` -> absolute paths from ``cwd`` (``~`` expanded).

    A URL is refused: plain ``locust`` downloads and runs it, unchecked, in a temporary file;
    here every machine of a run must load the very same local file (its sha256 is checked)."""
    entries = [entry.strip() for entry in given.split(",") if entry.strip()]
    if not entries:
        raise LocustfileError("-f/--locustfile: give a .py file, several (a.py,b.py) or a folder")
    for entry in entries:
        if urlsplit(entry).scheme.lower() in ("http", "https"):
            name = Path(urlsplit(entry).path).name
            name = name if name.endswith(".py") else "locustfile.py"
            raise LocustfileError(f"{entry}: a URL: download the file first (curl -fsSL -o "
                                  f"{name} URL) and give its path to -f")  # fmt: skip
    return [os.path.abspath(cwd / Path(entry).expanduser()) for entry in entries]


def inspect_locustfile(
    given: str,
    words: Sequence[str] = (),
    *,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> UserLocustfile:
    """Check ``given`` with Locust's loader; ``LocustfileError`` (one line) when it cannot run."""
    cwd = Path(os.path.abspath(cwd or Path.cwd()))
    entries = absolute_entries(given, cwd)
    unchecked = UserLocustfile(given, tuple(Path(e) for e in entries), (), cwd=cwd)
    env = {**(os.environ if environ is None else environ)}
    env["PYTHONPATH"] = unchecked.python_path(env)
    request = json.dumps({"entries": entries, "words": list(words)})
    try:
        done = subprocess.run(
            [sys.executable, "-m", PROBE_MODULE, request],
            cwd=cwd, env=env, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S,
            stdin=subprocess.DEVNULL, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as error:
        raise LocustfileError(
            f"{given}: importing it took longer than {PROBE_TIMEOUT_S}s"
        ) from error
    lines = done.stdout.strip().splitlines()
    if not lines:
        last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        raise LocustfileError(f"{given}: Locust could not load it: {last}")
    answer = probe_answer(json.loads(lines[-1]))
    if isinstance(answer, ProbeRefusal):
        raise LocustfileError(_where(answer, given, cwd) + answer.error)
    files = tuple(dict.fromkeys(Path(f) for f in answer.files))  # a.py,a.py or dir,dir/a.py
    return UserLocustfile(
        given=given,
        files=files,
        classes=answer.classes,
        available=answer.available,
        shapes=answer.shapes,
        cwd=cwd,
        sha256={str(f): file_sha256(f) for f in files},
        args=answer.args,
        settings=answer.settings,
        hosts=answer.hosts,
    )


def _where(refusal: ProbeRefusal, given: str, cwd: Path) -> str:
    """``my_test.py:3: `` (relative to ``cwd`` when inside it), or ``my_test.py: ``."""
    file, line = refusal.file, refusal.line
    if file is None:
        return f"{given}: "
    path = Path(file)
    shown = path.relative_to(cwd) if path.is_relative_to(cwd) else path
    return f"{shown}:{line}: " if line is not None else f"{shown}: "
