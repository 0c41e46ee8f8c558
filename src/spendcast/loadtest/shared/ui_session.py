"""What ``spendcast ui`` hands the Locust side (``contract.UI_SESSION_ENV``, as JSON)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from spendcast.loadtest.shared.run_settings import RunSettings


@dataclass(frozen=True)
class UiSession:
    """Where each test started from the page is saved, and how it is described.

    ``runs_dir``: the folder of the run directories (``<UTC timestamp>-<stem>`` each);
    ``config``: ``RunConfig.public()`` of the session, each test overriding its host, users,
    spawn rate, duration and load plan; ``slos``: the ``--slo`` expressions.
    """

    runs_dir: str
    stem: str
    config: RunSettings = field(default_factory=RunSettings)
    slos: tuple[str, ...] = ()

    def to_json(self) -> str:
        return json.dumps(
            {"runs_dir": self.runs_dir, "stem": self.stem, "config": self.config.to_json(),
             "slos": list(self.slos)}
        )  # fmt: skip

    @classmethod
    def from_json(cls, text: str) -> UiSession:
        data = json.loads(text)
        return cls(str(data["runs_dir"]), str(data["stem"]), RunSettings.from_json(data["config"]),
                   tuple(str(s) for s in data["slos"]))  # fmt: skip
