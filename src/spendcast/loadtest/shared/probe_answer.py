"""What the locustfile probe (``locust/probe``) answers the CLI side (``run/locustfile``).

The probe loads a user's locustfile with Locust's own loader in a short-lived process and
writes one JSON line: ``ProbedUsers`` when Locust can run it, ``ProbeRefusal`` when it cannot.
``to_json``/``from_json`` are the only places a key is spelled; the reader ignores unknown
keys. Like ``contract``, this module imports nothing of Locust or the kit's two sides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ProbedUsers:
    """The ``.py`` files (a folder expanded), every concrete user class (``available``), the
    ones that will run (``classes``), the load shape classes, the words after ``-f`` without
    the class names (``args``, handed to Locust as typed), what Locust's configuration sets
    (``settings``, JSON values by option ``dest``) and each class's own ``host`` attribute."""

    files: tuple[str, ...]
    available: tuple[str, ...]
    classes: tuple[str, ...]
    shapes: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)
    hosts: Mapping[str, str | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"files": list(self.files), "available": list(self.available),
                "classes": list(self.classes), "shapes": list(self.shapes),
                "args": list(self.args), "settings": dict(self.settings),
                "hosts": dict(self.hosts)}  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProbedUsers:
        return cls(
            files=tuple(data["files"]),
            available=tuple(data["available"]),
            classes=tuple(data["classes"]),
            shapes=tuple(data.get("shapes", ())),
            args=tuple(data.get("args", ())),
            settings=data.get("settings", {}),
            hosts=data.get("hosts", {}),
        )


@dataclass(frozen=True)
class ProbeRefusal:
    """Why Locust could not run the file, and where in the user's code when known."""

    error: str
    file: str | None = None
    line: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"error": self.error, "file": self.file, "line": self.line}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProbeRefusal:
        return cls(data["error"], data.get("file"), data.get("line"))


ProbeAnswer = ProbedUsers | ProbeRefusal


def probe_answer(data: Mapping[str, Any]) -> ProbeAnswer:
    """The probe's line: a refusal when it names an error, else the users it found."""
    return ProbeRefusal.from_json(data) if "error" in data else ProbedUsers.from_json(data)
