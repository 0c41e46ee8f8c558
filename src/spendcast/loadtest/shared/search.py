"""The capacity search: which load to offer next, when a step is stable, when to stop.

Pure logic, no Locust: the load shape (``shapes.CapacityShape``) feeds it the seconds completed
so far and applies the load it answers. A step starts at a load (users, or requests/s offered),
skips ``warmup_s`` seconds, then cuts what follows into windows of ``window_s`` seconds. It is
decided when its last ``stable_windows`` windows agree (throughput within ``tolerance`` of their
mean, the SLO percentile within twice that or 1 ms), when all of them break an SLO, or at
``max_step_s``. Its figures are those last windows merged. The search grows the load
(``growth``: ``x2`` or ``+10``) until a step breaks an SLO or its throughput stops growing
(less than ``min_growth`` of the added load became throughput), then optionally bisects
``bisect`` times between the last load that held and the first that broke.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from spendcast.loadtest.shared.capacity_step import (
    GeneratorFigures,
    StepEnded,
    WindowFigures,
)
from spendcast.loadtest.shared.latency import LatencyFigures
from spendcast.loadtest.shared.slo import Observation, Slo, evaluate, parse_slo
from spendcast.loadtest.shared.tally import Tally

Mode = Literal["users", "rate"]
MODES: tuple[Mode, ...] = ("users", "rate")
_GROWTH = re.compile(r"^\s*(?P<op>[x*+])\s*(?P<value>[0-9]+(?:\.[0-9]+)?)\s*$")


def parse_growth(text: str) -> tuple[str, float]:
    """``"x2"`` (multiply) or ``"+10"`` (add): ``("x", 2.0)``; ``ValueError`` otherwise."""
    match = _GROWTH.match(text)
    if match is None:
        raise ValueError(f"invalid growth {text!r}: use x2 (multiply) or +10 (add)")
    op, value = ("x" if match["op"] in "x*" else "+"), float(match["value"])
    if (op == "x" and value <= 1) or (op == "+" and value <= 0):
        raise ValueError(f"invalid growth {text!r}: the load must grow (x>1 or +>0)")
    return op, value


@dataclass(frozen=True)
class SearchPlan:
    """How the search steps: ``mode`` ``users`` (closed model) or ``rate`` (open model, req/s)."""

    mode: Mode = "users"
    start: float = 1
    growth: str = "x2"
    slos: tuple[str, ...] = ("p99<100ms", "errors<1%")
    max_steps: int = 12
    window_s: int = 2
    warmup_s: int = 1
    stable_windows: int = 3
    tolerance: float = 0.10
    max_step_s: int = 20
    min_growth: float = 0.25
    bisect: int = 0
    max_users: int = 1000
    knee_s: int = 0  # after the search: hold the knee's load this long (py-spy samples it)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}: users or rate")
        parse_growth(self.growth)
        if self.start <= 0 or (self.mode == "users" and self.start != int(self.start)):
            raise ValueError("start must be a positive number (whole users in users mode)")
        if self.window_s < 1 or self.stable_windows < 1 or self.max_steps < 1:
            raise ValueError("window, stable windows and max steps must be at least 1")
        if self.max_step_s < self.warmup_s + self.window_s:
            raise ValueError("the step time cap must fit the warm-up and one window")
        for slo in self.parsed_slos():
            if slo.endpoint is not None or slo.metric in ("rps", "dropped"):
                raise ValueError(f"{slo.expression!r}: capacity SLOs apply to every request "
                                 "and cannot be on rps or dropped")  # fmt: skip

    def parsed_slos(self) -> tuple[Slo, ...]:
        return tuple(parse_slo(expression) for expression in self.slos)

    @property
    def key_percentile(self) -> float:
        """The percentile steps must hold steady: the first percentile SLO's, else p99."""
        return next((p for s in self.parsed_slos() if (p := s.percentile) is not None), 99.0)

    def next_load(self, load: float) -> float:
        op, value = parse_growth(self.growth)
        grown = load * value if op == "x" else load + value
        return float(max(math.ceil(grown), int(load) + 1)) if self.mode == "users" else grown

    def users_for(self, rate: float) -> int:
        """Open model: enough users to keep ``rate`` going while answers take up to twice the
        latency bound (Little's law), at most ``max_users``."""
        bounds = [s.threshold for s in self.parsed_slos() if s.percentile or s.metric == "max"]
        seconds = max(max(bounds, default=1000.0) / 1000.0, 0.05)
        return min(self.max_users, math.ceil(rate * seconds * 2) + 5)

    def max_duration_s(self) -> int:
        return (self.max_steps + self.bisect) * (self.max_step_s + 2) + self.knee_s + 10

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SearchPlan:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        return cls(**{**values, "slos": tuple(data["slos"])})


@dataclass
class Step:
    """One load level: when it started, its windows, and once decided its figures."""

    index: int
    load: float
    phase: str  # "grow" or "bisect"
    started_at: float
    verdict: str | None = None  # "holds", "breaks" or "flat"
    reason: str = ""
    stable: bool = False
    figures: WindowFigures | None = None

    @property
    def holds(self) -> bool:
        return self.verdict == "holds"

    @property
    def rps(self) -> float:
        return 0.0 if self.figures is None else float(self.figures.rps)

    def ended(self, at: float, generator: GeneratorFigures) -> StepEnded:
        """The line the load shape writes once the step is decided."""
        assert self.verdict is not None, "an undecided step"
        assert self.figures is not None, "an undecided step"
        return StepEnded(self.index, self.load, self.phase, self.started_at, at, self.verdict,
                         self.reason, self.stable, self.figures, generator)  # fmt: skip


def merge(tallies: list[Tally]) -> Tally:
    total = Tally()
    for tally in tallies:
        total.merge(tally)
    return total


def figures(tally: Tally, seconds: float, slos: tuple[Slo, ...]) -> WindowFigures:
    """Requests, rps, errors, latency percentiles (ms) and each SLO's result for a tally."""
    histogram = tally.histogram
    observation = Observation(
        requests=tally.requests,
        failures=tally.failures,
        rps=tally.requests / seconds if seconds else 0.0,
        percentile_ms=histogram.percentile_ms,
        max_ms=histogram.max_ms(),
        mean_ms=histogram.mean_ms(),
        min_ms=histogram.min_ms(),
    )
    return WindowFigures(
        requests=tally.requests,
        failures=tally.failures,
        seconds=seconds,
        rps=round(observation.rps, 3),
        error_rate=tally.failures / tally.requests if tally.requests else 0.0,
        latency_ms=LatencyFigures.of(histogram.stats()),
        slos=tuple(evaluate(slo, {None: observation}) for slo in slos),
    )


class CapacitySearch:
    """Feed ``update`` the completed seconds; it answers the load to apply, ``None`` at the end."""

    def __init__(self, plan: SearchPlan) -> None:
        self.plan = plan
        self.slos = plan.parsed_slos()
        self.steps: list[Step] = []
        self.good: Step | None = None
        self.bad: Step | None = None
        self.bisections = 0
        self.stop_reason: str | None = None

    @property
    def current(self) -> Step:
        return self.steps[-1]

    def start(self, now: float) -> float:
        return self._begin(self.plan.start, "grow", now).load

    def update(
        self, now: float, second: Callable[[int], Tally | None], settled_s: int = 1
    ) -> float | None:
        """The load to apply at ``now``; ``second(s)`` is what epoch second ``s`` recorded.
        ``settled_s``: a second is complete that many seconds after it (1 where the requests
        are counted; more on a Locust master, which hears from its workers every few seconds).
        """
        step = self.current
        windows = self._windows(step, now, second, settled_s)
        if not self._decide(step, windows, now):
            return step.load
        load = self._next(step)
        if load is None:
            return None
        return self._begin(load, "bisect" if self.bad is not None else "grow", now).load

    def _begin(self, load: float, phase: str, now: float) -> Step:
        self.steps.append(Step(len(self.steps) + 1, load, phase, now))
        return self.current

    def _windows(
        self, step: Step, now: float, second: Callable[[int], Tally | None], settled_s: int
    ) -> list[Tally]:
        first = math.floor(step.started_at) + 1 + self.plan.warmup_s
        complete = math.floor(now) - settled_s  # the seconds before can get no more answers
        width = self.plan.window_s
        count = max(0, (complete - first) // width)
        return [
            merge(
                [t for s in range(first + i * width, first + (i + 1) * width) if (t := second(s))]
            )
            for i in range(count)
        ]

    def _decide(self, step: Step, windows: list[Tally], now: float) -> bool:
        k = self.plan.stable_windows
        last = windows[-k:]
        width = float(self.plan.window_s)
        each = [figures(w, width, self.slos) for w in last]
        stable = len(last) == k and self._agree(last, each)
        broken = len(last) == k and all(f.broken for f in each)
        capped = now - step.started_at >= self.plan.max_step_s
        if not (stable or broken or capped):
            return False
        step.stable = stable
        step.figures = figures(merge(last), width * len(last), self.slos)
        step.verdict, step.reason = self._verdict(step)
        return True

    def _agree(self, windows: list[Tally], each: list[WindowFigures]) -> bool:
        rps = [f.rps for f in each]
        mean = sum(rps) / len(rps)
        if mean <= 0 or any(abs(r - mean) > self.plan.tolerance * mean for r in rps):
            return False
        values = [w.histogram.percentile_ms(self.plan.key_percentile) or 0.0 for w in windows]
        centre = sum(values) / len(values)
        spread = max(2 * self.plan.tolerance * centre, 1.0)
        return all(abs(v - centre) <= spread for v in values)

    def _verdict(self, step: Step) -> tuple[str, str]:
        assert step.figures is not None
        if step.figures.requests == 0:
            return "breaks", "no request completed"
        if step.figures.broken:
            first = step.figures.broken[0]
            observed, bound = first.describe_observed(), first.slo.describe_threshold()
            return "breaks", f"{first.slo.metric} {observed} (must be {bound})"
        if self.plan.mode == "rate" and step.rps < (1 - self.plan.tolerance) * step.load:
            answered = f"{step.rps:.1f} req/s answered"
            return "breaks", f"{answered} of {step.load:.1f} iterations/s offered"
        previous = self.good if step.phase == "grow" else None
        if previous is not None and step.load > previous.load and previous.rps > 0:
            expected = previous.rps * (step.load / previous.load - 1)
            gained = (step.rps - previous.rps) / expected
            if gained < self.plan.min_growth:
                more = 100 * (step.load / previous.load - 1)
                delta = 100 * (step.rps / previous.rps - 1)
                unit = "users" if self.plan.mode == "users" else "iterations/s"
                return "flat", (
                    f"throughput stopped growing at {step.load:g} {unit} "
                    f"({delta:+.0f} % for {more:+.0f} % load)"
                )
        return "holds", ""

    def _next(self, step: Step) -> float | None:
        if step.holds:
            if self.good is None or step.load > self.good.load:
                self.good = step
        elif step.verdict == "breaks" and (self.bad is None or step.load < self.bad.load):
            self.bad = step
        elif step.verdict == "flat":
            self.stop_reason = step.reason
            return None
        if step.phase == "grow" and step.holds:
            load = self.plan.next_load(step.load)
            if len(self.steps) >= self.plan.max_steps:
                self.stop_reason = f"no break up to the last step ({len(self.steps)} steps)"
                return None
            if self.plan.mode == "users" and load > self.plan.max_users:
                self.stop_reason = f"no break up to {self.plan.max_users} users (--max-users)"
                return None
            return load
        return self._bisect()

    def knee_load(self) -> float | None:
        """The load to hold while the server is sampled: the lowest that broke or went flat."""
        failed = [s for s in self.steps if s.verdict in ("breaks", "flat")]
        return min(failed, key=lambda s: s.load).load if failed else None

    def _bisect(self) -> float | None:
        assert self.bad is not None
        self.stop_reason = f"breaks at {self.bad.load:g}: {self.bad.reason}"
        good = self.good
        if good is None or self.bisections >= self.plan.bisect:
            return None
        if self.plan.mode == "users":
            if self.bad.load - good.load <= 1:
                return None
            middle = float((int(good.load) + int(self.bad.load)) // 2)
        else:
            if self.bad.load - good.load <= self.plan.tolerance / 2 * good.load:
                return None
            middle = round((good.load + self.bad.load) / 2, 1)
        self.bisections += 1
        return middle
