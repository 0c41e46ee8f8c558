"""Which part of a run its figures cover (``Window``) and what it writes (``Output``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from spendcast.loadtest.run.config_rules import Rule, refuse


@dataclass(frozen=True)
class Window:
    """``warmup_s``: the first seconds, sent but left out of every figure and SLO
    (``shared/window.py``); ``slice_s``: figures per slice of the measured window, and the
    drift line."""

    warmup_s: int = 0
    slice_s: int | None = None

    def __post_init__(self) -> None:
        if self.warmup_s < 0:
            refuse(Rule.NEGATIVE_WARMUP)
        if self.slice_s is not None and self.slice_s < 1:
            refuse(Rule.SHORT_SLICE)


@dataclass(frozen=True)
class Output:
    """``out_dir`` ``None`` writes to ``runs/<UTC timestamp>-<scenario>/``."""

    out_dir: Path | None = None
    plots: bool = True
