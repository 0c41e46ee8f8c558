"""Loading an artifact in a throwaway process, so that a serving worker never imports
scikit-learn (~60 MiB per worker, docs/performance.md).

The worker hands the artifact's bytes to ``python -m spendcast.model.loader VERSION WHERE`` on
its standard input; the loader checks them (hash, allow-list), compiles the ``Predictor`` and
writes it as one JSON line, or the error's class and message. A plain subprocess, not a
multiprocessing pool: no resource tracker, no pool threads, and the loader asks the kernel to
kill it when the thread that started it dies (``PR_SET_PDEATHSIG``), so a worker killed
mid-load (``kill -9``, the OOM killer) never leaves a loader behind.

A loader costs ~2.5 CPU-seconds (it imports scikit-learn), paid by ``spendcast serve``'s check
and again by each worker for the same bytes. So ``serve`` names a private directory
(``COMPILED_DIR``, made with ``mkdtemp``: only this user can write it) where each compiled
predictor is kept under the sha256 of the bytes it came from: its workers, a replacement
worker and the other workers following a new model find it there instead of loading again.
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
from pathlib import Path
from typing import Any, Final

from spendcast import errors
from spendcast.errors import ModelError
from spendcast.model.predictor import Predictor

LOAD_TIMEOUT_SECONDS: Final = 120.0
# Set by ``spendcast serve`` for its workers: where compiled predictors are kept, by digest.
COMPILED_DIR: Final = "_SPENDCAST_COMPILED_PREDICTORS"
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
    return Path(directory) / f"{hashlib.sha256(data).hexdigest()}.json"


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
