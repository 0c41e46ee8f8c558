"""How the open model's iterations are spaced: evenly, as a Poisson process, or in gamma bursts.

The load plan says how many iterations are due by each time, ``N(t)``; the pattern says where,
along that count, iteration ``k`` falls: at ``u_k``, so that it is due at the ``t`` where
``N(t) = u_k``. ``u_k`` is the sum of ``k`` gaps of mean 1 (a renewal process in the plan's own
time, stretched by the rate, the time change that turns a rate-1 process into one of any rate):

- ``constant``: every gap is 1 (``u_k = k``), the iterations evenly spaced (the default);
- ``poisson``: exponential gaps, memoryless arrivals (coefficient of variation 1);
- ``gamma:CV``: gamma gaps of shape ``1 / CV²`` and scale ``CV²``, so their coefficient of
  variation is ``CV``: under 1 more regular than Poisson, over 1 in bursts.

The gaps are drawn from ``numpy.random.default_rng(seed)`` in fixed-size blocks, the same for
every process that asks: with ``n`` processes each runs the iterations ``k ≡ i (mod n)`` of one
sequence, so the merged stream has the statistics asked, and two runs with one seed send the same
pattern. Pure logic, no Locust: unit-tested directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np

PatternKind = Literal["constant", "poisson", "gamma"]
BLOCK: Final = 4096  # gaps drawn at once
DEFAULT_SEED: Final = 1


@dataclass(frozen=True)
class ArrivalPattern:
    kind: PatternKind = "constant"
    cv: float = 0.0  # the gaps' coefficient of variation (1 for poisson, 0 constant)
    seed: int = DEFAULT_SEED

    @classmethod
    def parse(cls, text: str, seed: int = DEFAULT_SEED) -> ArrivalPattern:
        """``constant``, ``poisson`` or ``gamma:CV``; ``ValueError`` naming the mistake."""
        name, colon, value = text.strip().lower().partition(":")
        if name == "constant" and not colon:
            return cls("constant", 0.0, seed)
        if name == "poisson" and not colon:
            return cls("poisson", 1.0, seed)
        if name == "gamma" and colon:
            try:
                cv = float(value)
            except ValueError:
                cv = math.nan
            if not 0 < cv <= 10:
                raise ValueError(
                    f"invalid arrival pattern {text!r}: gamma's CV is a number in (0, 10]"
                )
            return cls("gamma", cv, seed)
        raise ValueError(
            f"invalid arrival pattern {text!r}: write constant, poisson or gamma:CV (e.g. gamma:2)"
        )

    def __str__(self) -> str:
        return f"gamma:{self.cv:g}" if self.kind == "gamma" else self.kind

    @property
    def is_constant(self) -> bool:
        return self.kind == "constant"

    def positions(self) -> Positions:
        """A fresh reader of ``u_k`` (each schedule holds its own)."""
        return Positions(self)

    def gaps(self, rng: np.random.Generator, size: int) -> np.ndarray[Any, np.dtype[np.float64]]:
        if self.kind == "poisson":
            return rng.exponential(1.0, size)
        if self.kind == "gamma":
            variance = self.cv * self.cv
            return rng.gamma(1.0 / variance, variance, size)
        return np.ones(size)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "cv": self.cv, "seed": self.seed}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ArrivalPattern:
        if not data:
            return cls()
        kind = str(data["kind"])
        if kind not in ("constant", "poisson", "gamma"):
            raise ValueError(f"unknown arrival pattern {kind!r}")
        return cls(kind, float(data["cv"]), int(data["seed"]))  # type: ignore[arg-type]


CONSTANT: Final = ArrivalPattern()


class Positions:
    """``u_k`` of one pattern, drawn a block at a time in order (asked with ``k`` rising, so
    only the current block is kept; asking for an earlier one draws the sequence again)."""

    def __init__(self, pattern: ArrivalPattern) -> None:
        self.pattern = pattern
        self._restart()

    def _restart(self) -> None:
        self._rng = np.random.default_rng(self.pattern.seed)
        self._block = -1
        self._values: list[float] = []
        self._next_start = 0.0  # u of the next block's first iteration

    def at(self, k: int) -> float:
        if self.pattern.kind == "constant":
            return float(k)
        block, offset = divmod(k, BLOCK)
        if block < self._block:
            self._restart()
        while self._block < block:
            sums = np.cumsum(self.pattern.gaps(self._rng, BLOCK))
            # u of a block's iterations: the sums of the gaps before each one
            self._values = (self._next_start + np.concatenate(([0.0], sums[:-1]))).tolist()
            self._next_start += float(sums[-1])
            self._block += 1
        return self._values[offset]
