"""What a run must hold to pass, and when it stops early (``Gates``)."""

from __future__ import annotations

from dataclasses import dataclass

from spendcast.loadtest.run.config_rules import Rule, refuse
from spendcast.loadtest.shared.abort import DEFAULT_GRACE_S
from spendcast.loadtest.shared.slo import Slo


@dataclass(frozen=True)
class Gates:
    """``abort_on_fail``: stop as soon as an SLO is broken beyond recovery, or still broken
    ``abort_grace_s`` into the run (``shared/abort.py``)."""

    slos: tuple[Slo, ...] = ()
    abort_on_fail: bool = False
    abort_grace_s: float = DEFAULT_GRACE_S

    def __post_init__(self) -> None:
        if self.abort_grace_s < 0:
            refuse(Rule.NEGATIVE_GRACE)
