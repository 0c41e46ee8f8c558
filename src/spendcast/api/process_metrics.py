"""The standard ``process_*`` metrics of the whole server, not only of the worker that answers.

Under ``spendcast serve`` the exposition is multiprocess: prometheus_client's own
``ProcessCollector`` would describe only the worker that happens to answer the scrape. Here its
figures are read for every process of the server and summed (CPU seconds, memory, open file
descriptors; the earliest start time, the smallest descriptor limit), so a remote observer sees
the server's CPU as it would locally (``spendcast capacity``'s diagnosis reads it). The
processes: the supervisor (``SUPERVISOR_PID_ENV``, set by ``server/workers.py`` for its
workers), every live worker with values in the multiprocess directory, and this one.
``spendcast_server_processes`` says how many were summed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector

from spendcast.server.contract import SUPERVISOR_PID_ENV

_SUMMED = (
    "process_cpu_seconds",
    "process_resident_memory_bytes",
    "process_virtual_memory_bytes",
    "process_open_fds",
)
_LOWEST = ("process_start_time_seconds", "process_max_fds")


def server_pids(multiprocess_dir: str) -> list[int]:
    """The server's live processes: the supervisor, the workers, this process."""
    pids = {os.getpid()}
    supervisor = os.environ.get(SUPERVISOR_PID_ENV, "")
    if supervisor.isdigit():
        pids.add(int(supervisor))
    for path in Path(multiprocess_dir).glob("*_*.db"):
        pid = path.stem.rpartition("_")[2]
        if pid.isdigit():
            pids.add(int(pid))
    return sorted(pid for pid in pids if Path(f"/proc/{pid}").exists())


class ServerProcessCollector:
    """``process_*`` summed over ``server_pids`` (a collector for a ``CollectorRegistry``)."""

    def __init__(self, multiprocess_dir: str) -> None:
        self.multiprocess_dir = multiprocess_dir

    def collect(self) -> Iterator[Metric]:
        pids = server_pids(self.multiprocess_dir)
        totals: dict[str, Metric] = {}
        for pid in pids:
            for family in _families(pid):
                kept = totals.setdefault(family.name, family)
                if kept is family:
                    continue
                for index, sample in enumerate(family.samples[:1]):
                    previous = kept.samples[index]
                    value = (
                        previous.value + sample.value
                        if family.name in _SUMMED
                        else min(previous.value, sample.value)
                    )
                    kept.samples[index] = previous._replace(value=value)
        yield from (family for name, family in totals.items() if name in _SUMMED + _LOWEST)
        yield GaugeMetricFamily(
            "spendcast_server_processes",
            "Processes of the server summed in process_* (supervisor and workers).",
            value=len(pids),
        )


def _families(pid: int) -> Iterable[Metric]:
    """prometheus_client's own reading of ``/proc/<pid>`` (nothing when it just ended)."""
    collector = ProcessCollector(pid=lambda: pid, registry=None)
    return list(collector.collect())
