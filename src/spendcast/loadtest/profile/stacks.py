"""Sampled call stacks (py-spy's collapsed ``raw`` format): top functions, speedscope, flame graph.

A line is ``frame;frame;…;leaf COUNT``, outermost frame first; with ``--subprocesses`` the first
frame is ``process PID:"command"``; a frame reads ``function (file.py:line)``.
"""

from __future__ import annotations

import itertools
import sys
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from html import escape
from importlib.metadata import packages_distributions
from typing import Any, Final

Stack = tuple[tuple[str, ...], int]
PROCESS_PREFIX: Final = "process "
FLAME_WIDTH: Final = 1200
ROW: Final = 17
MIN_WIDTH: Final = 0.3  # px: narrower frames are not drawn


def parse_collapsed(text: str) -> list[Stack]:
    stacks = []
    for line in text.splitlines():
        frames, _, count = line.rstrip().rpartition(" ")
        if frames and count.isdigit():
            stacks.append((tuple(frames.split(";")), int(count)))
    return stacks


def split_frame(frame: str) -> tuple[str, str, int | None]:
    """``"f (pkg/mod.py:12)"`` -> ``("f", "pkg/mod.py", 12)``."""
    name, _, rest = frame.partition(" (")
    location = rest.removesuffix(")")
    path, _, line = location.rpartition(":")
    if not path:
        return name, location, None
    return name, path, int(line) if line.isdigit() else None


def _function(frame: str) -> str:
    name, path, _ = split_frame(frame)
    return f"{name} ({path})" if path else name


def _is_process(frame: str) -> bool:
    return frame.startswith(PROCESS_PREFIX)


@dataclass(frozen=True)
class FunctionSamples:
    """A function (``file`` its path as py-spy gives it) in ``samples`` of the stacks, a
    ``percent`` of them (a row of ``profile.json``'s ``top_own``, ``top_total``...)."""

    function: str
    file: str
    samples: int
    percent: float

    def to_json(self) -> dict[str, str | int | float]:
        return asdict(self)


@dataclass(frozen=True)
class PackageSamples:
    """Own samples of a top-level package (a row of ``profile.json``'s ``top_packages``)."""

    package: str
    samples: int
    percent: float

    def to_json(self) -> dict[str, str | int | float]:
        return asdict(self)


def top_functions(
    stacks: Sequence[Stack],
    *,
    own: bool,
    limit: int = 15,
    keep: Callable[[str], bool] | None = None,
) -> list[FunctionSamples]:
    """Functions by own samples (they were the leaf) or total samples (anywhere in the stack,
    once per stack). By total, pass-through wrappers are left out: a function that spends
    99 % of its samples in one callee says nothing its callee does not (``Thread._bootstrap``,
    a framework's endpoint runner). ``keep(file)`` filters by file."""
    total = sum(count for _, count in stacks)
    counts: Counter[str] = Counter()
    calls: Counter[tuple[str, str]] = Counter()
    for frames, count in stacks:
        real = [_function(f) for f in frames if not _is_process(f)]
        if not real:
            continue
        for function in {real[-1]} if own else set(real):
            counts[function] += count
        for pair in set(itertools.pairwise(real)):
            calls[pair] += count
    wrappers = {caller for (caller, _), n in calls.items() if n >= 0.99 * counts[caller]}
    rows = []
    for function, samples in counts.most_common():
        if not own and function in wrappers:
            continue
        if keep is not None and not keep(function.partition(" (")[2].removesuffix(")")):
            continue
        name, _, path = function.partition(" (")
        percent = 100.0 * samples / total if total else 0.0
        rows.append(FunctionSamples(name, path.removesuffix(")"), samples, percent))
        if len(rows) == limit:
            break
    return rows


def is_application(path: str) -> bool:
    """Not the standard library's nor an installed distribution's (``spendcast`` excepted)."""
    top = path.split("/")[0].removesuffix(".py")
    if top.startswith("<") or top in sys.stdlib_module_names:
        return False
    return top == "spendcast" or top not in _installed()


@cache
def _installed() -> frozenset[str]:
    return frozenset(packages_distributions())


def top_packages(stacks: Sequence[Stack], limit: int = 10) -> list[PackageSamples]:
    """Own samples by the leaf's top-level package (``pandas``, ``sqlalchemy``, ``joblib``…)."""
    total = sum(count for _, count in stacks)
    counts: Counter[str] = Counter()
    for frames, count in stacks:
        real = [f for f in frames if not _is_process(f)]
        if real:
            path = split_frame(real[-1])[1]
            counts[path.split("/")[0] if "/" in path else path] += count
    return [PackageSamples(p, n, 100.0 * n / total if total else 0.0)
            for p, n in counts.most_common(limit)]  # fmt: skip


def speedscope(stacks: Sequence[Stack], name: str) -> dict[str, Any]:
    """A speedscope file (https://www.speedscope.app/file-format-schema.json), one sampled
    profile whose weights are sample counts."""
    index: dict[str, int] = {}
    frames: list[dict[str, Any]] = []
    samples, weights = [], []
    for stack, count in stacks:
        ids = []
        for frame in stack:
            if frame not in index:
                function, path, line = split_frame(frame)
                index[frame] = len(frames)
                entry: dict[str, Any] = {"name": function, "file": path}
                if line is not None:
                    entry["line"] = line
                frames.append(entry)
            ids.append(index[frame])
        samples.append(ids)
        weights.append(count)
    total = sum(weights)
    return {
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "exporter": "spendcast profile",
        "name": name,
        "activeProfileIndex": 0,
        "shared": {"frames": frames},
        "profiles": [{"type": "sampled", "name": name, "unit": "none", "startValue": 0,
                      "endValue": total, "samples": samples, "weights": weights}],
    }  # fmt: skip


@dataclass
class _Node:
    name: str
    value: int = 0
    children: dict[str, _Node] = field(default_factory=dict)


def _tree(stacks: Iterable[Stack]) -> _Node:
    root = _Node("all")
    for frames, count in stacks:
        root.value += count
        node = root
        for frame in frames:
            node = node.children.setdefault(frame, _Node(frame))
            node.value += count
    return root


def _color(name: str) -> str:
    path = split_frame(name)[1]
    hue = zlib.crc32(path.split("/")[0].encode()) % 40  # warm colours, one per package
    return f"hsl({10 + hue},{70 + hue % 20}%,{55 + hue % 15}%)"


def flamegraph_svg(stacks: Sequence[Stack], title: str) -> str:
    """A static flame graph: width is the share of samples, callers below their callees."""
    root = _tree(stacks)
    rects: list[str] = []
    depth = _depth(root)
    height = (depth + 1) * ROW + 40
    scale = FLAME_WIDTH / root.value if root.value else 0.0

    def draw(node: _Node, x: float, level: int) -> None:
        width = node.value * scale
        if width < MIN_WIDTH:
            return
        y = height - (level + 1) * ROW - 5
        share = 100.0 * node.value / root.value
        label = escape(node.name)
        rects.append(
            f"<g><title>{label} — {node.value:,} samples ({share:.1f} %)</title>"
            f'<rect x="{x:.2f}" y="{y}" width="{width:.2f}" height="{ROW - 1}" rx="2" '
            f'fill="{_color(node.name)}"/>'
        )
        chars = int(width / 6.5)
        if chars >= 4:
            text = node.name if len(node.name) <= chars else node.name[: chars - 1] + "…"
            rects.append(f'<text x="{x + 3:.2f}" y="{y + ROW - 5}">{escape(text)}</text>')
        rects.append("</g>")
        for child in sorted(node.children.values(), key=lambda c: c.name):
            draw(child, x, level + 1)
            x += child.value * scale

    draw(root, 0.0, 0)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{FLAME_WIDTH}" height="{height}" '
        f'viewBox="0 0 {FLAME_WIDTH} {height}" font-family="monospace" font-size="11">'
        f'<rect width="100%" height="100%" fill="#fdfdf8"/>'
        f'<text x="6" y="20" font-size="15" font-family="sans-serif">{escape(title)}</text>'
        + "".join(rects)
        + "</svg>\n"
    )


def _depth(node: _Node) -> int:
    return 1 + max((_depth(child) for child in node.children.values()), default=0)
