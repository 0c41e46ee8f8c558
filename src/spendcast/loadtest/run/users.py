"""What each simulated user does: a built-in scenario or the user's locustfile (``Users``)."""

from __future__ import annotations

from dataclasses import dataclass

from spendcast.loadtest.run.config_rules import Rule, refuse
from spendcast.loadtest.run.locustfile import UserLocustfile
from spendcast.loadtest.shared.contract import SCENARIO_USERS
from spendcast.loadtest.shared.duration import parse_think_time


@dataclass(frozen=True)
class Users:
    """``file``: the user's own locustfile and classes instead of ``scenario``'s; ``tags`` and
    ``exclude_tags`` select tasks of either, as Locust's ``--tags``/``--exclude-tags``.
    ``think_time``: the built-in scenarios' pause between requests (seconds, ``"0.1"`` or
    ``"0.05-0.2"``; ``None``: ``SPENDCAST_LOADTEST_THINK_TIME``)."""

    scenario: str = "predict"
    file: UserLocustfile | None = None
    tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    think_time: str | None = None

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIO_USERS:
            refuse(Rule.UNKNOWN_SCENARIO, scenario=self.scenario, known=sorted(SCENARIO_USERS))
        if self.think_time is not None:
            try:
                parse_think_time(self.think_time)
            except ValueError as error:
                refuse(Rule.BAD_THINK_TIME, reason=error)
        if self.file is not None and self.think_time is not None:
            refuse(Rule.THINK_TIME_WITH_LOCUSTFILE)

    @property
    def stem(self) -> str:
        """The run directory's default name: the scenario's, or the locustfile's stem."""
        return self.scenario if self.file is None else self.file.stem

    @property
    def shapes(self) -> tuple[str, ...]:
        """The load shapes the user's locustfile defines (none for a built-in scenario)."""
        return () if self.file is None else self.file.shapes
