"""Processes on this machine: which ones are the server, and what each used over an interval.

The server is named by a PID (``--server-pid``), by the process ``capacity`` started
(``--server-cmd``), or found from the port a local ``--host`` listens on; each comes with its
descendants (uvicorn's workers). The load generator is every descendant of this process that
is not the server nor py-spy. A ``Snapshot`` is one reading of ``/proc`` (through psutil) of a
process's CPU times, threads, memory, open files and context switches; ``use`` turns two
snapshots into a ``figures.Use``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from spendcast.loadtest.diagnosis.figures import Use

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0", "[::1]"})
SAMPLER_NAMES = frozenset({"py-spy"})


@dataclass(frozen=True)
class Snapshot:
    pid: int
    name: str
    at: float
    user_s: float
    system_s: float
    threads: int
    rss_bytes: int
    fds: int | None
    voluntary: int
    involuntary: int
    queued_s: float | None = None  # waiting for a CPU in the run queue, every thread


def queued_seconds(pid: int) -> float | None:
    """Seconds ``pid``'s threads spent runnable but waiting for a CPU (Linux schedstat)."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                total += int((task / "schedstat").read_text().split()[1])
            except (OSError, IndexError, ValueError):
                continue
    except OSError:
        return None
    return total / 1e9


def snapshot(process: psutil.Process) -> Snapshot | None:
    """One reading of ``process``; ``None`` if it is gone."""
    try:
        with process.oneshot():
            times = process.cpu_times()
            switches = process.num_ctx_switches()
            try:
                fds: int | None = process.num_fds()
            except (psutil.AccessDenied, AttributeError):
                fds = None
            return Snapshot(
                process.pid, process.name(), time.time(), times.user, times.system,
                process.num_threads(), process.memory_info().rss, fds,
                switches.voluntary, switches.involuntary, queued_seconds(process.pid),
            )  # fmt: skip
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return None


def use(first: Snapshot, last: Snapshot) -> Use:
    """What the process used between two snapshots (its state at the last)."""
    seconds = max(last.at - first.at, 1e-6)
    user = 100.0 * (last.user_s - first.user_s) / seconds
    system = 100.0 * (last.system_s - first.system_s) / seconds
    queued = None
    if first.queued_s is not None and last.queued_s is not None:
        queued = round(100.0 * (last.queued_s - first.queued_s) / seconds, 1)
    return Use(
        pid=last.pid,
        name=last.name,
        cpu_percent=round(user + system, 1),
        user_percent=round(user, 1),
        system_percent=round(system, 1),
        threads=last.threads,
        rss_mb=round(last.rss_bytes / 2**20, 1),
        fds=last.fds,
        voluntary_switches_per_s=round((last.voluntary - first.voluntary) / seconds, 1),
        involuntary_switches_per_s=round((last.involuntary - first.involuntary) / seconds, 1),
        queued_percent=queued,
    )


def with_descendants(pids: Iterable[int]) -> list[psutil.Process]:
    """The processes of ``pids`` and all their children, each once, live ones only."""
    found: dict[int, psutil.Process] = {}
    for pid in pids:
        try:
            process = psutil.Process(pid)
            for member in [process, *process.children(recursive=True)]:
                found.setdefault(member.pid, member)
        except psutil.NoSuchProcess:
            continue
    return list(found.values())


def is_local(host: str) -> bool:
    return (urlsplit(host).hostname or "") in LOCAL_HOSTS | {"::1"}


def listening_pids(host: str) -> list[int]:
    """The processes listening on ``host``'s port when ``host`` is on this machine."""
    parts = urlsplit(host)
    if not is_local(host):
        return []
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:
        return []
    return sorted({c.pid for c in connections
                   if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
                   and c.pid is not None})  # fmt: skip


def root_of(pids: Iterable[int]) -> int | None:
    """The server's top process (py-spy samples it with its children): one whose parent is
    not among ``pids``."""
    chosen = set(pids)
    for pid in sorted(chosen):
        try:
            parent = psutil.Process(pid).ppid()
        except psutil.NoSuchProcess:
            continue
        if parent not in chosen:
            return pid
    return None


def generator_processes(server: Iterable[int]) -> list[psutil.Process]:
    """This process's descendants that are neither the server nor a sampler: Locust."""
    excluded = set(server)
    found = []
    for child in psutil.Process(os.getpid()).children(recursive=True):
        try:
            if child.pid not in excluded and child.name() not in SAMPLER_NAMES:
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found
