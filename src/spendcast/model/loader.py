"""Loading an artifact in a throwaway process, so that a serving worker never imports
scikit-learn (~60 MiB per worker, docs/performance.md).

The worker hands the artifact's bytes to ``python -m spendcast.model.loader VERSION WHERE`` on
its standard input; the loader checks them (hash, allow-list), compiles the ``Predictor`` and
writes it as one JSON line, or the error's class and message. A plain subprocess, not a
multiprocessing pool: no resource tracker, no pool threads, and the loader asks the kernel to
kill it when the thread that started it dies (``PR_SET_PDEATHSIG``), so a worker killed
mid-load (``kill -9``, the OOM killer) never leaves a loader behind.

A loader costs ~1-2.5 CPU-seconds (it imports scikit-learn), paid by ``spendcast serve``'s
check and again by each worker for the same bytes. So ``serve`` names a directory only this user
can write (``COMPILED_DIR``: ``SPENDCAST_MODEL_CACHE_DIR``, kept between starts, or else one
made with ``mkdtemp`` and removed with the server) where each compiled predictor is kept under
the sha256 of the bytes it came from and the compiler's own identity (``compiler_tag``: a
predictor compiled by other code, or against other library versions, is never read back): its
workers, a replacement worker, the other workers following a new model, and with a cache
directory the next start, find it there instead of loading again.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import signal
import subprocess
import sys
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Final

from spendcast import errors
from spendcast.errors import ModelError
from spendcast.model.predictor import Predictor

LOAD_TIMEOUT_SECONDS: Final = 120.0
# Set by ``spendcast serve`` for its workers: where compiled predictors are kept, by digest.
COMPILED_DIR: Final = "_SPENDCAST_COMPILED_PREDICTORS"
# What a compiled predictor depends on besides the artifact's bytes: the code that checks and
# compiles it, and the libraries that read the artifact.
_COMPILER_SOURCES: Final = ("artifact.py", "predictor.py", "loader.py")
_COMPILER_LIBRARIES: Final = ("spendcast", "scikit-learn", "skops", "numpy")
_PR_SET_PDEATHSIG: Final = 1
# The errors a loader may report, by class name; any other is a ModelError.
_ERRORS: Final = {
    cls.__name__: cls
    for cls in (
        errors.ModelError,
        errors.ModelNotFoundError,
        errors.UntrustedModelError,
        errors.UnsupportedModelError,
    )
}


def load_isolated(data: bytes, version: str, where: str) -> Predictor:
    """The predictor compiled from artifact bytes: kept from an earlier load of the same
    bytes (``COMPILED_DIR``), else compiled in a loader process unless scikit-learn is
    already loaded here (a worker that just trained)."""
    if "sklearn" in sys.modules:
        from spendcast.model.artifact import predictor_from_bytes

        return predictor_from_bytes(data, version, where)
    kept = _kept_path(data)
    if kept is not None:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            predictor = Predictor.from_json(json.loads(kept.read_bytes()))
            if predictor.version == version:
                return predictor
    predictor = _load_in_a_loader(data, version, where)
    if kept is not None:
        _keep(kept, predictor)
    return predictor


def _kept_path(data: bytes) -> Path | None:
    directory = os.environ.get(COMPILED_DIR)
    if not directory:
        return None
    return Path(directory) / f"{hashlib.sha256(data).hexdigest()}-{compiler_tag()}.json"


@cache
def compiler_tag() -> str:
    """12 hex digits naming the code and library versions a predictor is compiled with."""
    digest = hashlib.sha256()
    for name in _COMPILER_SOURCES:
        digest.update(Path(__file__).with_name(name).read_bytes())
    for library in _COMPILER_LIBRARIES:
        try:
            digest.update(f"{library}=={version(library)}\n".encode())
        except PackageNotFoundError:
            digest.update(f"{library} missing\n".encode())
    return digest.hexdigest()[:12]


def _keep(path: Path, predictor: Predictor) -> None:
    """Written whole or not at all (another worker may be reading); a failure only costs the
    next reader a loader."""
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    with contextlib.suppress(OSError):
        partial.write_text(json.dumps(predictor.to_json()))
        os.replace(partial, path)


def _load_in_a_loader(data: bytes, version: str, where: str) -> Predictor:
    command = [sys.executable, "-m", __name__, version, where, str(os.getpid())]
    try:
        done = subprocess.run(
            command, input=data, capture_output=True, timeout=LOAD_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ModelError(f"the model loader for {where} failed: {error}") from error
    try:
        answer = json.loads(done.stdout.decode().splitlines()[-1])
    except (IndexError, ValueError, UnicodeDecodeError):
        detail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise ModelError(
            f"the model loader for {where} exited {done.returncode}: {detail[0]}"
        ) from None
    if "error" in answer:
        raise _ERRORS.get(answer["error"], ModelError)(answer["message"])
    return Predictor.from_json(answer["predictor"])


def _die_with_parent(parent: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies (elsewhere: nothing to do)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # died before the request took effect
        os._exit(1)


def main(argv: list[str]) -> int:
    version, where, parent = argv
    _die_with_parent(int(parent))
    from spendcast.model.artifact import predictor_from_bytes

    answer: dict[str, Any]
    try:
        predictor = predictor_from_bytes(sys.stdin.buffer.read(), version, where)
        answer = {"predictor": predictor.to_json()}
    except ModelError as error:
        answer = {"error": type(error).__name__, "message": str(error)}
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
