"""CPU time of a server's processes, from ``/proc``: how the work splits between workers."""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path

PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Helper processes of multiprocessing that never serve requests.
NOT_WORKERS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")


def parse_stat_ticks(stat: str) -> int:
    """utime + stime (clock ticks) from the text of ``/proc/<pid>/stat``.

    The command name (field 2) may hold spaces and parentheses, so fields are counted
    from the last ``)``: utime and stime are fields 14 and 15 of the whole line.
    """
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


def parse_system_busy_ticks(stat: str) -> int:
    """Busy ticks of all CPUs (everything but idle and iowait) from ``/proc/stat``'s first line."""
    fields = [int(value) for value in stat.splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    # guest time is already counted in user and nice
    return sum(fields[:8]) - idle


def system_busy_seconds() -> float:
    """CPU seconds every process of the machine has used so far (all cores)."""
    return parse_system_busy_ticks((PROC / "stat").read_text()) / CLOCK_TICKS


def parse_children(text: str) -> list[int]:
    """Pids listed in a ``/proc/<pid>/task/<tid>/children`` file."""
    return [int(pid) for pid in text.split()]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by process ``pid`` and all its threads."""
    return parse_stat_ticks((PROC / str(pid) / "stat").read_text()) / CLOCK_TICKS


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid``, depth first."""
    found: list[int] = []
    try:
        tasks = list((PROC / str(pid) / "task").iterdir())
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            children = parse_children((task / "children").read_text())
        except (FileNotFoundError, ProcessLookupError):
            continue
        for child in children:
            found.extend([child, *descendants(child)])
    return found


def _command_line(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


def worker_pids(root: int) -> list[int]:
    """The processes that serve requests: the descendants of ``root`` (not multiprocessing
    helpers) when it has any, otherwise ``root`` itself."""
    workers = [
        pid for pid in descendants(root) if not any(n in _command_line(pid) for n in NOT_WORKERS)
    ]
    return sorted(workers) or [root]


def processes_running(root: int, marker: str) -> list[int]:
    """``root`` and its descendants whose command line holds ``marker`` (forks share it)."""
    return sorted(pid for pid in [root, *descendants(root)] if marker in _command_line(pid))


def parse_voluntary_switches(status: str) -> int:
    """``voluntary_ctxt_switches`` from the text of a ``/proc/<pid>/task/<tid>/status``."""
    for line in status.splitlines():
        if line.startswith("voluntary_ctxt_switches:"):
            return int(line.split()[1])
    return 0


def voluntary_switches(pids: list[int]) -> int:
    """Times the threads of ``pids`` gave up their CPU to wait so far (blocking waits: an event
    loop's wake-ups from ``epoll_wait``); a vanished pid or thread counts as 0."""
    total = 0
    for pid in pids:
        with suppress(FileNotFoundError, ProcessLookupError):
            for task in (PROC / str(pid) / "task").iterdir():
                with suppress(FileNotFoundError, ProcessLookupError):
                    total += parse_voluntary_switches((task / "status").read_text())
    return total


def snapshot(pids: list[int]) -> dict[int, float]:
    """CPU seconds per pid now (a vanished pid counts as 0)."""
    result: dict[int, float] = {}
    for pid in pids:
        try:
            result[pid] = cpu_seconds(pid)
        except (FileNotFoundError, ProcessLookupError):
            result[pid] = 0.0
    return result


def total_cpu(pids: list[int]) -> float:
    """CPU seconds of ``pids`` together now (a vanished pid counts as 0)."""
    return sum(snapshot(pids).values())


def used_between(before: dict[int, float], after: dict[int, float]) -> tuple[float, ...]:
    """CPU seconds each pid used between two snapshots, by pid."""
    return tuple(round(after.get(pid, 0.0) - before[pid], 3) for pid in sorted(before))
