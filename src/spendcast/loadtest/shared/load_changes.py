"""The load asked during one test of ``spendcast ui``, as the load plan's stages.

The page starts a test with a user count and maybe an arrival rate, and may change either
while it runs; ``LoadChanges`` notes each change and turns them into a ``LoadPlan`` whose
stages are the changes (users, or iterations/s once a rate was set), so the run's
``summary.json`` gives each change's figures. Pure logic, no Locust: unit-tested directly.
"""

from __future__ import annotations

from spendcast.loadtest.shared.load_plan import LoadPlan, Stage


class LoadChanges:
    """The load asked during one test: ``(at, users, rate)``, the first when it started."""

    def __init__(self) -> None:
        self.changes: list[tuple[float, int, float | None]] = []

    def start(self, at: float, users: int, rate: float | None) -> None:
        self.changes = [(at, users, rate)]

    def change(self, at: float, users: int, rate: float | None) -> None:
        if self.changes and self.changes[-1][1:] != (users, rate):
            self.changes.append((at, users, rate))

    @property
    def open_model(self) -> bool:
        return any(rate is not None for _, _, rate in self.changes)

    def plan(self, origin: float, stopped: float) -> LoadPlan | None:
        """The load asked as stages from ``origin`` (``None``: one user count throughout, as
        a plain Locust run); a stage lasts at least a second."""
        if not self.changes:
            return None
        open_model = self.open_model
        targets = [(at, (rate or 0.0) if open_model else float(users))
                   for at, users, rate in self.changes]  # fmt: skip
        if not open_model and len({target for _, target in targets}) == 1:
            return None
        stages: list[Stage] = []
        ends = [at for at, _ in targets[1:]] + [stopped]
        for (at, target), end in zip(targets, ends, strict=True):
            seconds = max(round(end - max(at, origin)), 1)
            if stages and stages[-1].target == target:
                stages[-1] = Stage(stages[-1].duration_s + seconds, target)
            else:
                stages.append(Stage(seconds, target))
        pool = max(users for _, users, _ in self.changes)
        try:
            if open_model:
                return LoadPlan("rate", tuple(stages), targets[0][1], max(pool, 1))
            return LoadPlan("users", tuple(stages))
        except ValueError:  # a rate too low to start an iteration: no plan to describe it
            return None
