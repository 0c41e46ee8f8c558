"""Where the server's time goes at the knee: two py-spy recordings side by side, one step long.

py-spy samples the server's process and its children from outside (ptrace: root, or
``kernel.yama.ptrace_scope=0``; see ``profile.runner``) with lines, not functions: one
recording of the threads on a CPU (py-spy's default) and one with idle threads too
(``--idle``), same rate, same seconds. A stack's idle samples are the second's count minus the
first's. Idle samples in a stack that runs the application's code are requests *waiting* (a
lock, a pool, a socket, ``sqlite3``); idle samples elsewhere are *parked* threads (an event
loop in ``select``, idle pool threads) and count for nothing.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from spendcast.errors import ProfileError
from spendcast.loadtest.diagnosis.figures import Function, KneeSamples, WaitingStack
from spendcast.loadtest.profile.runner import PTRACE_HELP, py_spy
from spendcast.loadtest.profile.stacks import PROCESS_PREFIX, is_application, parse_collapsed
from spendcast.loadtest.profile.stacks import split_frame as split

RATE: Final = 100
TOP: Final = 8
HOT_SHARE: Final = 0.5  # an application function in this share of the samples is named
STACKS: Final = 3
FRAME: Final = re.compile(r"^.+ \(.+\)$")  # function (file:line)
STACK_SHARE: Final = 0.1
Frames = tuple[str, ...]


def _stacks(text: str) -> Counter[Frames]:
    """Stacks of frames ``function (file:line)``; the process frames (whose command line may
    hold a ``;`` that split it) left out."""
    counts: Counter[Frames] = Counter()
    for frames, count in parse_collapsed(text):
        real = tuple(f for f in frames if not f.startswith(PROCESS_PREFIX) and FRAME.match(f))
        if real:
            counts[real] += count
    return counts


def _is_app(frame: str) -> bool:
    return is_application(split(frame)[1])


def _own(stacks: Counter[Frames]) -> tuple[Function, ...]:
    """Functions by own samples (the leaf), each at its most sampled line."""
    total = sum(stacks.values())
    by_function: Counter[tuple[str, str]] = Counter()
    lines: dict[tuple[str, str], Counter[int | None]] = {}
    for frames, count in stacks.items():
        name, path, line = split(frames[-1])
        by_function[name, path] += count
        lines.setdefault((name, path), Counter())[line] += count
    return tuple(Function(name, path, lines[name, path].most_common(1)[0][0], count / total)
                 for (name, path), count in by_function.most_common(TOP))  # fmt: skip


def _application(stacks: Counter[Frames]) -> tuple[Function, ...]:
    """The application's functions by total samples (once per stack), at their commonest line."""
    total = sum(stacks.values())
    counts: Counter[tuple[str, str]] = Counter()
    lines: dict[tuple[str, str], Counter[int | None]] = {}
    for frames, count in stacks.items():
        seen = set()
        for frame in frames:
            name, path, line = split(frame)
            if (name, path) in seen or not is_application(path):
                continue
            seen.add((name, path))
            counts[name, path] += count
            lines.setdefault((name, path), Counter())[line] += count
    return tuple(Function(name, path, lines[name, path].most_common(1)[0][0], count / total)
                 for (name, path), count in counts.most_common(TOP))  # fmt: skip


def _innermost_hot(stacks: Counter[Frames], hot: Iterable[Function]) -> Function | None:
    """Of the application functions in ``HOT_SHARE`` of the samples, the deepest on average
    (its callers are in as many samples: it is the one that names the cost)."""
    depths: dict[tuple[str, str], list[int]] = {}
    for frames, count in stacks.items():
        for depth, frame in enumerate(frames):
            name, path, _ = split(frame)
            depths.setdefault((name, path), []).extend([depth] * min(count, 50))
    candidates = [f for f in hot if f.share >= HOT_SHARE]
    if not candidates:
        return None
    return max(candidates, key=lambda f: sum(d := depths[f.function, f.file]) / len(d))


def _trim(frames: Frames) -> Frames:
    """Innermost frame first, cut after the first application frame."""
    inner: list[str] = []
    for frame in reversed(frames):
        inner.append(frame)
        if _is_app(frame):
            break
    return tuple(inner)


def _waiting_stacks(stacks: Counter[Frames]) -> tuple[WaitingStack, ...]:
    """The commonest waiting stacks (``STACK_SHARE`` of the waiting samples or more, at most
    ``STACKS``), each ``_trim``-med."""
    total = sum(stacks.values())
    trimmed: Counter[Frames] = Counter()
    for frames, count in stacks.items():
        trimmed[_trim(frames)] += count
    return tuple(WaitingStack(frames, count / total)
                 for frames, count in trimmed.most_common(STACKS)
                 if count >= STACK_SHARE * total)  # fmt: skip


def classify(
    busy_text: str, all_text: str, seconds: float, parked_before: frozenset[Frames] = frozenset()
) -> KneeSamples:
    """The two recordings (py-spy's raw format) turned into the knee's samples; a stack that
    was idle already before any load (``parked_before``, ``_trim``-med: a background thread of
    the application waiting for work) is parked, not waiting."""
    busy = _stacks(busy_text)
    everything = _stacks(all_text)
    waiting: Counter[Frames] = Counter()
    parked = 0
    for frames, count in everything.items():
        idle = count - busy.get(frames, 0)
        if idle <= 0:
            continue
        if any(_is_app(f) for f in frames) and _trim(frames) not in parked_before:
            waiting[frames] += idle
        else:
            parked += idle
    working = busy + waiting
    application = _application(working) if working else ()
    return KneeSamples(
        seconds=seconds,
        busy=sum(busy.values()),
        waiting=sum(waiting.values()),
        parked=parked,
        on_cpu=_own(busy) if busy else (),
        waiting_functions=_own(waiting) if waiting else (),
        application=application,
        hot=_innermost_hot(working, application),
        waiting_stacks=_waiting_stacks(waiting) if waiting else (),
    )


def _command(pid: int, seconds: float, output: Path, idle: bool) -> list[str]:
    command = [py_spy(), "record", "--pid", str(pid), "--subprocesses", "--format", "raw",
               "--rate", str(RATE), "--duration", str(max(1, round(seconds))),
               "--output", str(output)]  # fmt: skip
    return [*command, "--idle"] if idle else command


def _record(pid: int, seconds: float, idle: tuple[bool, ...]) -> list[str]:
    """One py-spy recording per ``idle`` flag, all at once; their raw texts."""
    with tempfile.TemporaryDirectory(prefix="spendcast-knee-") as directory:
        paths = [Path(directory, f"{i}.txt") for i in range(len(idle))]
        samplers = [
            subprocess.Popen(_command(pid, seconds, path, flag), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            for path, flag in zip(paths, idle, strict=True)
        ]  # fmt: skip
        outputs = [_finish(sampler, seconds) for sampler in samplers]
        if not all(path.exists() for path in paths):
            raise ProfileError(_failure(outputs))
        return [path.read_text(errors="replace") for path in paths]


def parked_stacks(pid: int, seconds: float = 1.0) -> frozenset[Frames]:
    """The application's stacks idle before any load (``_trim``-med); none if py-spy fails."""
    try:
        (text,) = _record(pid, seconds, (True,))
    except ProfileError:
        return frozenset()
    return frozenset(_trim(f) for f in _stacks(text) if any(_is_app(x) for x in f))


def sample(pid: int, seconds: float, parked_before: frozenset[Frames] = frozenset()) -> KneeSamples:
    """Record ``pid`` (and its children) for ``seconds``; the error in ``KneeSamples.error``."""
    started = time.monotonic()
    try:
        busy, everything = _record(pid, seconds, (False, True))
    except ProfileError as error:
        # py-spy can fail as it attaches (a thread gone mid-read): once more, in the time left.
        left = seconds - (time.monotonic() - started)
        if left < 1:
            return KneeSamples(seconds=seconds, error=str(error))
        try:
            busy, everything = _record(pid, left, (False, True))
        except ProfileError as again:
            return KneeSamples(seconds=seconds, error=str(again))
        seconds = left
    return classify(busy, everything, seconds, parked_before)


def _finish(sampler: subprocess.Popen[bytes], seconds: float) -> str:
    try:
        output, _ = sampler.communicate(timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        sampler.kill()
        output, _ = sampler.communicate()
    return output.decode(errors="replace")


def _failure(outputs: Iterable[str]) -> str:
    text = "\n".join(o.strip() for o in outputs if o.strip())
    lines = text.splitlines()
    # py-spy's own message, not the backtrace it may print after it
    last = next((line for line in lines if "rror" in line), lines[-1] if lines else "no output")
    denied = ("Permission denied", "Operation not permitted", "ptrace", "EPERM")
    return f"py-spy failed: {last}" + (f" ({PTRACE_HELP})" if any(d in text for d in denied)
                                       else "")  # fmt: skip
