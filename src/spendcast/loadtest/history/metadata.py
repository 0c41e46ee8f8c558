"""What a run's figures alone do not say: where, on what, by which command and code it ran.

``RunMetadata`` is written beside the run (``history.json``) when the run is recorded, so that
``spendcast history import`` finds it again even if the store was unreachable then. Each
probe is bounded and never fails the run: a value it cannot find is ``None``.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any, Final

from spendcast.loadtest.shared.credentials import auth_headers, base_url, public_host

METADATA_FILE: Final = "history.json"
MODEL_VERSION_HEADER: Final = "X-Model-Version"
PROBE_TIMEOUT_S: Final = 2.0
GIT_TIMEOUT_S: Final = 5.0


@dataclass(frozen=True)
class Machine:
    cpu_model: str
    cores: int

    @classmethod
    def here(cls) -> Machine:
        return cls(_cpu_model(), os.cpu_count() or 1)


@dataclass(frozen=True)
class RunMetadata:
    """A run's context (``history.json``); ``imported``: gathered later, not when it ran."""

    kind: str
    command: str | None
    recorded_at: str
    machine: Machine
    kit_version: str
    git_commit: str | None = None
    git_dirty: bool | None = None
    model_version: str | None = None
    warmup_s: float | None = None
    imported: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"schema_version": 1, **asdict(self), "extra": dict(self.extra)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunMetadata:
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**{**fields, "machine": Machine(**data["machine"])})

    def write(self, run_dir: Path) -> None:
        text = json.dumps(self.to_json(), indent=2) + "\n"
        (run_dir / METADATA_FILE).write_text(text, encoding="utf-8")

    @classmethod
    def read(cls, run_dir: Path) -> RunMetadata | None:
        path = run_dir / METADATA_FILE
        if not path.exists():
            return None
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


def gather(
    kind: str,
    *,
    host: str | None,
    argv: Sequence[str] | None,
    cwd: Path,
    warmup_s: float | None = None,
    imported: bool = False,
) -> RunMetadata:
    """The context of a run that just ended here (``imported``: of an older run directory,
    whose command, commit and model are no longer known)."""
    commit, dirty = (None, None) if imported else git_state(cwd)
    return RunMetadata(
        kind=kind,
        command=None if argv is None else command_line(argv),
        recorded_at=now_iso(),
        machine=Machine.here(),
        kit_version=version("spendcast"),
        git_commit=commit,
        git_dirty=dirty,
        model_version=None if host is None or imported else model_version(host),
        warmup_s=warmup_s,
        imported=imported,
    )


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def command_line(argv: Sequence[str]) -> str:
    """``spendcast loadtest --host ...`` as typed, any URL without its user, password, query
    or fragment (``public_host``)."""
    words = ["spendcast", *(_scrubbed(word) for word in argv[1:])]
    return shlex.join(words)


def _scrubbed(word: str) -> str:
    name, equals, value = word.partition("=") if word.startswith("-") else ("", "", word)
    if not equals:
        name, value = "", word
    if "://" in value:
        value = public_host(value)
    return f"{name}{equals}{value}"


def git_state(cwd: Path) -> tuple[str | None, bool | None]:
    """The commit checked out in ``cwd`` and whether tracked files differ from it."""
    try:
        commit = _git(cwd, "rev-parse", "HEAD")
        if commit is None:
            return None, None
        changes = _git(cwd, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit, None if changes is None else bool(changes)


def _git(cwd: Path, *args: str) -> str | None:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=GIT_TIMEOUT_S, check=False)  # fmt: skip
    return done.stdout.strip() if done.returncode == 0 else None


def model_version(host: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The model the server says it serves: the ``X-Model-Version`` header of ``/ready``, or
    the ``model_version`` its body names (spendcast's); ``None`` when it says neither."""
    url = f"{base_url(host)}/ready"
    if not url.startswith(("http://", "https://")):
        return None
    request = urllib.request.Request(url, headers=auth_headers(environ))  # noqa: S310 (above)
    try:
        with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT_S) as response:  # noqa: S310
            header, body = response.headers.get(MODEL_VERSION_HEADER), response.read(65536)
    except urllib.error.HTTPError as error:  # a 503 /ready still names its model
        header, body = error.headers.get(MODEL_VERSION_HEADER), error.read(65536)
    except (urllib.error.URLError, OSError, ValueError):
        return None
    if header:
        return str(header)
    try:
        named = json.loads(body).get("model_version")
    except (ValueError, AttributeError):
        return None
    return str(named) if named else None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"
