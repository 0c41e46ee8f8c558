"""Tick labels read back from a matplotlib figure, as a reader sees them (no pixels)."""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

PLAIN = re.compile(r"^\d[\d,]*(\.\d+)?$")  # 40, 1,000, 0.5


def tick_labels(figure: Figure, axis: str) -> tuple[list[str], list[str]]:
    """The (major, minor) tick labels matplotlib draws on the ``x`` or ``y`` axis, non-empty."""
    figure.canvas.draw()
    (ax,) = figure.axes
    assert isinstance(ax, Axes)
    which = ax.xaxis if axis == "x" else ax.yaxis
    major = [t.get_text() for t in which.get_majorticklabels() if t.get_text()]
    minor = [t.get_text() for t in which.get_minorticklabels() if t.get_text()]
    plt.close(figure)
    return major, minor


def assert_plain_milliseconds(labels: list[str]) -> None:
    assert labels, "no label drawn"
    odd = [label for label in labels if not PLAIN.fullmatch(label.replace("\u2212", "-"))]
    assert odd == [], odd
