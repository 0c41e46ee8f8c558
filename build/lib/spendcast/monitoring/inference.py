"""One recorded prediction, and its journal line (one JSON object per line).

Inference ids come from a generator of this module's own, never from the process-global
``random`` (which any library may re-seed): 64 bits drawn from ``os.urandom`` once per process,
drawn again in a forked child, then a 64-bit counter. Ids never repeat within a process, and
differ across workers and restarts unless two processes draw the same 64 bits.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson


def _now() -> datetime:
    return datetime.now(UTC)


_prefix = ""
_counter: Iterator[int] = itertools.count()


def _start_ids() -> None:
    global _prefix, _counter
    _prefix = os.urandom(8).hex()
    _counter = itertools.count()


_start_ids()
os.register_at_fork(after_in_child=_start_ids)


def new_id() -> str:
    """32 hex digits (like ``uuid4().hex``), unique; no system call on the request path."""
    # ``next`` on itertools.count is atomic under the GIL: request threads may share it.
    return f"{_prefix}{next(_counter):016x}"


@dataclass(slots=True)
class Inference:
    """A prediction the API answered; ``id`` makes every insert and replay idempotent.

    Never changed once made (the request thread hands it to the recorder's writer thread), but
    not ``frozen``: a frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__``, which made building one, on every ``/predict``, 4x slower.
    """

    education: str
    age: int
    income: float
    prediction: float
    model_version: str
    created_at: datetime = field(default_factory=_now)
    id: str = field(default_factory=new_id)

    def as_row(self) -> dict[str, Any]:
        """The column values of the ``inference_log`` table."""
        return {
            "id": self.id,
            "created_at": self.created_at,
            "education": self.education,
            "age": self.age,
            "income": self.income,
            "prediction": self.prediction,
            "model_version": self.model_version,
        }


def to_line(inference: Inference) -> bytes:
    """The journal line: compact JSON ending in a newline (floats round-trip exactly)."""
    # A dict is faster to dump than the dataclass itself, and stays readable with jq.
    return orjson.dumps(inference.as_row(), option=orjson.OPT_APPEND_NEWLINE)


def from_line(line: bytes) -> Inference:
    """Parse one journal line; raises ``ValueError`` (or ``KeyError``/``TypeError``) if torn."""
    data = orjson.loads(line)
    return Inference(
        education=data["education"],
        age=data["age"],
        income=data["income"],
        prediction=data["prediction"],
        model_version=data["model_version"],
        created_at=datetime.fromisoformat(data["created_at"]),
        id=data["id"],
    )
