"""The load plan of a run: closed (a number of users) or open (an arrival rate), in stages.

Stages are written ``30s:50,2m:200,30s:0``: each ramps linearly from the previous target to
its own over its duration (k6's ramping-vus and ramping-arrival-rate). Closed, the targets are
users and the first ramp starts from 0 users; open, they are task iterations per second and
the first ramp starts from ``--rate`` (a constant rate alone is one stage at that rate).

Open model, the timetable (what ``locust/arrival.py`` hands out): with ``N(t)`` the arrivals
due by ``t`` (the integral of the rate), iteration ``k = 0, 1, 2...`` is due at the ``t``
where ``N(t) = k``, for every ``t`` before the plan's end (evenly spaced; ``--arrival``
replaces ``k`` by ``u_k``, the pattern's position: ``arrival_pattern``). With ``n`` processes
generating the load, process ``i`` runs the iterations ``k ≡ i (mod n)``: each offers
``rate / n``, its slots shifted from its neighbour's by one interval, so the merged stream is
the one asked.

The pool of users (``pool_size``) follows Little's law: busy users = rate x latency. It holds
the peak rate of the next seconds times twice the longest answer lately (at least 0.5 s), plus
a few spare users per process; it only grows, by at least the iterations just dropped, and never
beyond ``max_users``. Pure logic, no Locust: unit-tested directly.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from spendcast.loadtest.shared.arrival_pattern import CONSTANT, ArrivalPattern, Positions
from spendcast.loadtest.shared.duration import format_duration, parse_duration

Model = Literal["users", "rate"]
DEFAULT_MAX_USERS: Final = 1000
MIN_LATENCY_S: Final = 0.5  # the pool covers answers this long before any is observed
HEADROOM: Final = 2.0
SPARE_USERS: Final = 5  # per process
LOOKAHEAD_S: Final = 5.0


@dataclass(frozen=True)
class Stage:
    """Ramp linearly to ``target`` (users, or iterations/s) over ``duration_s`` seconds."""

    duration_s: int
    target: float

    def __str__(self) -> str:
        return f"{format_duration(self.duration_s)}:{self.target:g}"


def parse_stages(text: str) -> tuple[Stage, ...]:
    """``"30s:50,2m:200,30s:0"`` -> stages; ``ValueError`` naming the bad part otherwise."""
    stages = []
    for part in text.split(","):
        duration, colon, target = part.strip().partition(":")
        if not colon:
            raise ValueError(f"invalid stage {part.strip()!r}: write DURATION:TARGET, e.g. 30s:50")
        try:
            value = float(target)
        except ValueError:
            raise ValueError(f"invalid stage {part.strip()!r}: the target is a number") from None
        if not 0 <= value < math.inf:
            raise ValueError(f"invalid stage {part.strip()!r}: the target is 0 or more")
        stages.append(Stage(parse_duration(duration), value))
    return tuple(stages)


@dataclass
class _Segment:
    start_s: float
    duration_s: float  # math.inf: open-ended (a capacity step)
    from_rate: float
    to_rate: float
    before: float  # arrivals due before the segment starts

    @property
    def slope(self) -> float:
        return (
            0.0
            if math.isinf(self.duration_s)
            else (self.to_rate - self.from_rate) / self.duration_s
        )

    @property
    def total(self) -> float:
        if math.isinf(self.duration_s):
            return math.inf if self.from_rate > 0 else 0.0
        return self.count(self.duration_s)

    def count(self, tau: float) -> float:
        """Arrivals due in the segment's first ``tau`` seconds."""
        return self.from_rate * tau + self.slope * tau * tau / 2

    def time_of(self, arrivals: float) -> float:
        """Seconds into the segment at which ``arrivals`` more are due (solves ``count``)."""
        if arrivals <= 0:
            return 0.0
        half_slope = self.slope / 2
        root = math.sqrt(max(self.from_rate**2 + 4 * half_slope * arrivals, 0.0))
        return 2 * arrivals / (self.from_rate + root)


@dataclass
class ArrivalSchedule:
    """When each iteration is due, in seconds from the plan's start (piecewise-linear rate).

    Mutable only at its end: ``switch`` changes the rate from now on (the capacity search)."""

    segments: list[_Segment] = field(default_factory=list)
    pattern: ArrivalPattern = CONSTANT
    _cursor: int = field(default=0, repr=False, compare=False)
    _positions: Positions | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.pattern.is_constant:
            self._positions = self.pattern.positions()

    @classmethod
    def of_stages(
        cls, start_rate: float, stages: tuple[Stage, ...], pattern: ArrivalPattern = CONSTANT
    ) -> ArrivalSchedule:
        schedule = cls(pattern=pattern)
        rate, at = start_rate, 0.0
        for stage in stages:
            schedule._append(at, stage.duration_s, rate, stage.target)
            rate, at = stage.target, at + stage.duration_s
        return schedule

    @classmethod
    def open_ended(cls, rate: float = 0.0, pattern: ArrivalPattern = CONSTANT) -> ArrivalSchedule:
        schedule = cls(pattern=pattern)
        schedule._append(0.0, math.inf, rate, rate)
        return schedule

    def _append(self, start: float, duration: float, from_rate: float, to_rate: float) -> None:
        before = 0.0
        if self.segments:
            last = self.segments[-1]
            before = last.before + last.total
        self.segments.append(_Segment(start, duration, from_rate, to_rate, before))

    def rate_at(self, t: float) -> float:
        segment = self._segment_at(t)
        if segment is None:
            return 0.0
        return segment.from_rate + segment.slope * (t - segment.start_s)

    def due_by(self, t: float) -> float:
        """``N(t)``: the arrivals due in ``[0, t]`` (not rounded)."""
        segment = self._segment_at(t)
        if segment is None:
            return 0.0 if t < 0 or not self.segments else self.total
        return segment.before + segment.count(t - segment.start_s)

    @property
    def total(self) -> float:
        """Arrivals due over the whole schedule (``math.inf`` if open-ended at a rate)."""
        last = self.segments[-1]
        return last.before + last.total

    def time_of(self, k: int) -> float | None:
        """When iteration ``k`` is due, or ``None`` if it never is (after the end, rate 0)."""
        # Asked once per iteration with k rising: the segment of the last answer first.
        u = k if self._positions is None else self._positions.at(k)
        segments = self.segments
        cursor = self._cursor if self._cursor < len(segments) else 0
        segment = segments[cursor]
        within = u - segment.before
        if 0 <= within < segment.total:
            return segment.start_s + segment.time_of(within)
        first = max(bisect.bisect_right([s.before for s in segments], u) - 1, 0)
        for index in range(first, len(segments)):
            segment = segments[index]
            within = u - segment.before
            if 0 <= within < segment.total:
                self._cursor = index
                return segment.start_s + segment.time_of(within)
        return None

    def slot(self, index: int, processes: int, j: int) -> float | None:
        """When process ``index`` of ``processes`` runs its ``j``-th iteration (``k = index +
        j * processes``): each process gets every ``processes``-th arrival."""
        return self.time_of(index + j * processes)

    def slots_by(self, index: int, processes: int, j: int, until: float, limit: int) -> list[float]:
        """``slot(index, processes, j)``, ``slot(..., j + 1)``... while due by ``until`` (at
        most ``limit``): the same values, each segment found once (a tick's slots at once)."""
        offsets: list[float] = []
        k = index + j * processes
        positions = self._positions
        while len(offsets) < limit:
            first = self.time_of(k)  # finds the segment and leaves the cursor on it
            if first is None or first > until:
                break
            offsets.append(first)
            k += processes
            segment = self.segments[self._cursor]
            while (
                len(offsets) < limit
                and (within := (k if positions is None else positions.at(k)) - segment.before)
                < segment.total
            ):
                offset = segment.start_s + segment.time_of(within)
                if offset > until:
                    return offsets
                offsets.append(offset)
                k += processes
        return offsets

    def switch(self, t: float, rate: float) -> None:
        """From ``t`` on (not before the last change), ``rate`` iterations/s, open-ended."""
        last = self.segments[-1]
        if t < last.start_s:
            raise ValueError("a schedule only changes at its end")
        if last.slope:
            raise ValueError("only an open-ended constant schedule switches")
        if t == last.start_s:  # a change before the last took effect (capacity's lead second)
            last.from_rate = last.to_rate = rate
            return
        last.duration_s = t - last.start_s
        self._append(t, math.inf, rate, rate)

    def _segment_at(self, t: float) -> _Segment | None:
        if t < 0:
            return None
        for segment in self.segments:
            if t < segment.start_s + segment.duration_s:
                return segment
        return None


@dataclass(frozen=True)
class LoadPlan:
    """What a run offers over time: users (closed) or an arrival rate (open), by stages."""

    model: Model
    stages: tuple[Stage, ...]
    start: float = 0.0  # open: the rate at the start (--rate); closed: always 0 users
    max_users: int = DEFAULT_MAX_USERS
    pattern: ArrivalPattern = CONSTANT  # open: how the iterations are spaced

    def __post_init__(self) -> None:
        if not self.stages:
            raise ValueError("a load plan needs at least one stage")
        if self.max_users < 1:
            raise ValueError("--max-users must be at least 1")
        if self.model == "users" and not self.pattern.is_constant:
            raise ValueError(
                "--arrival spaces the open model's iterations: give --rate or --stages"
            )
        if self.model == "users" and any(s.target != int(s.target) for s in self.stages):
            raise ValueError("user stages take whole numbers of users, e.g. 1m:10,2m:50")
        if self.model == "rate" and self.schedule().total < 1:
            raise ValueError(
                "this plan starts no iteration: give a rate (or a stage target) above 0"
            )

    @classmethod
    def constant_rate(
        cls, rate: float, duration_s: int, max_users: int, pattern: ArrivalPattern = CONSTANT
    ) -> LoadPlan:
        return cls("rate", (Stage(duration_s, rate),), rate, max_users, pattern)

    @property
    def duration_s(self) -> int:
        return sum(stage.duration_s for stage in self.stages)

    def windows(self) -> list[tuple[float, float, float]]:
        """Each stage's ``(start_s, end_s, target)`` from the plan's start."""
        windows, at = [], 0.0
        for stage in self.stages:
            windows.append((at, at + stage.duration_s, stage.target))
            at += stage.duration_s
        return windows

    def stage_at(self, t: float) -> int:
        """The stage holding second ``t`` (the first before the start, the last after it)."""
        ends = [end for _, end, _ in self.windows()]
        return min(bisect.bisect_right(ends, t), len(ends) - 1)

    def target_at(self, t: float) -> float:
        """Users or iterations/s asked at ``t`` (0 after the end)."""
        previous = self.start
        for start, end, target in self.windows():
            if t < end:
                return previous + (target - previous) * max(t - start, 0) / (end - start)
            previous = target
        return 0.0

    def schedule(self) -> ArrivalSchedule:
        return ArrivalSchedule.of_stages(self.start, self.stages, self.pattern)

    def peak_rate(self, t0: float, t1: float) -> float:
        """The highest rate asked in ``[t0, t1]`` (a ramp peaks at a stage boundary)."""
        points = [t0, t1, *(end for _, end, _ in self.windows() if t0 < end < t1)]
        edges = [max(self.target_at(p), self.target_at(p - 1e-9)) for p in points]
        return max(edges)

    def pool_size(
        self, t: float, current: int, latency_s: float, dropped: int, processes: int = 1
    ) -> int:
        """Users the pool should hold at ``t`` (see the module docstring); ``current``: what it
        holds, ``latency_s``: the longest answer lately, ``dropped``: iterations just dropped."""
        rate = self.peak_rate(t, t + LOOKAHEAD_S)
        needed = math.ceil(rate * max(latency_s, MIN_LATENCY_S) * HEADROOM)
        wanted = max(needed + SPARE_USERS * processes, current + dropped, processes)
        return max(min(self.max_users, wanted), min(current, self.max_users))

    def describe(self) -> str:
        unit = "users" if self.model == "users" else "it/s"
        if self.model == "rate" and len(self.stages) == 1 and self.start == self.stages[0].target:
            return f"{self.start:g} {unit} for {format_duration(self.duration_s)}{self._spacing()}"
        start = f"{self.start:g} -> " if self.model == "rate" else ""
        return f"{start}{','.join(str(s) for s in self.stages)} ({unit}){self._spacing()}"

    def _spacing(self) -> str:
        return "" if self.pattern.is_constant else f", {self.pattern} arrivals"

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "start": self.start,
            "stages": [[s.duration_s, s.target] for s in self.stages],
            "max_users": self.max_users,
            "arrival": self.pattern.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LoadPlan:
        stages = tuple(Stage(int(d), float(t)) for d, t in data["stages"])
        model: Model = "rate" if data["model"] == "rate" else "users"
        pattern = ArrivalPattern.from_json(data.get("arrival"))
        return cls(model, stages, float(data["start"]), int(data["max_users"]), pattern)
