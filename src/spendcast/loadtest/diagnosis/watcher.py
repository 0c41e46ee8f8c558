"""``Watcher``: reads both sides twice a second while a load test runs, in a thread of the CLI.

Each reading holds a ``Snapshot`` of every server process (or of its ``process_*`` metrics),
of every Locust process, and the machine's busy CPU seconds; ``between(t0, t1)`` turns the
readings nearest a step's ends into what each process used. The watcher also follows the
capacity steps file: when the load shape starts holding the knee (``"knee"`` event), it has
py-spy sample the server for that hold (``sampling.sample``), once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import psutil

from spendcast.loadtest.capacity.result import new_events
from spendcast.loadtest.diagnosis import metrics, processes
from spendcast.loadtest.diagnosis.figures import KneeSamples, Use
from spendcast.loadtest.diagnosis.sampling import sample
from spendcast.loadtest.shared.capacity_step import KneeHeld

INTERVAL_S: Final = 0.5
KNEE_WARMUP_S: Final = 1.0


@dataclass(frozen=True)
class ServerTarget:
    """How the server is watched: its processes (``pids``, with their children) when local, its
    ``metrics_url`` when not; neither: not observable. ``python``: py-spy can sample it."""

    pids: tuple[int, ...] = ()
    metrics_url: str | None = None
    python: bool = False

    @property
    def source(self) -> str:
        if self.pids:
            return "processes"
        return "metrics" if self.metrics_url else "not observable"


def find_server(host: str, pid: int | None = None, metrics_url: str | None = None) -> ServerTarget:
    """The server of ``host``: ``pid``, else the local processes listening on its port, else
    ``metrics_url`` (or ``host``'s ``/metrics``) when it exports ``process_*`` metrics."""
    pids = [pid] if pid is not None else processes.listening_pids(host)
    if pids and metrics_url is None:
        root = processes.root_of(pids) or pids[0]
        return ServerTarget((root,), None, _is_python(root))
    url = metrics_url or host.rstrip("/") + "/metrics"
    return ServerTarget((), url if metrics.scrape(url) is not None else None)


def _is_python(pid: int) -> bool:
    try:
        process = psutil.Process(pid)
        words = [process.name(), *process.cmdline()[:1]]
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    return any("python" in Path(word).name.lower() for word in words)


@dataclass
class Reading:
    at: float
    server: dict[int, processes.Snapshot] | None
    generator: dict[int, processes.Snapshot]
    machine_busy_s: float


@dataclass
class Watcher:
    """Start it before the load, ``stop`` it after; ``steps_path``: the knee to sample;
    ``parked_before``: the server's stacks idle before the load (``sampling.parked_stacks``)."""

    target: ServerTarget
    steps_path: Path | None = None
    parked_before: frozenset[tuple[str, ...]] = frozenset()
    readings: list[Reading] = field(default_factory=list)
    knee: KneeSamples | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _offset: int = 0

    def __enter__(self) -> Watcher:
        thread = threading.Thread(target=self._run, name="spendcast-watcher", daemon=True)
        self._threads.append(thread)
        thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in list(self._threads):
            thread.join(timeout=60)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.readings.append(self._read())
            self._follow_steps()
            self._stop.wait(INTERVAL_S)
        self.readings.append(self._read())

    def _read(self) -> Reading:
        server: dict[int, processes.Snapshot] | None = None
        server_pids: set[int] = set()
        if self.target.pids:
            members = processes.with_descendants(self.target.pids)
            server_pids = {p.pid for p in members}
            server = {s.pid: s for p in members if (s := processes.snapshot(p)) is not None}
        elif self.target.metrics_url:
            scraped = metrics.scrape(self.target.metrics_url)
            server = None if scraped is None else {s.pid: s for s in scraped}
        generator = {s.pid: s for p in processes.generator_processes(server_pids)
                     if (s := processes.snapshot(p)) is not None}  # fmt: skip
        times = psutil.cpu_times()
        busy = sum(times) - times.idle - getattr(times, "iowait", 0.0)
        return Reading(time.time(), server, generator, busy)

    def _follow_steps(self) -> None:
        if self.steps_path is None or self.knee is not None:
            return
        events, self._offset = new_events(self.steps_path, self._offset)
        for event in events:
            if isinstance(event, KneeHeld) and self.target.python and self.target.pids:
                seconds = max(1.0, float(event.seconds) - 2 * KNEE_WARMUP_S)
                self.knee = KneeSamples(seconds=seconds, error="sampling")  # once
                thread = threading.Thread(target=self._sample, args=(seconds,), daemon=True)
                self._threads.append(thread)
                thread.start()

    def _sample(self, seconds: float) -> None:
        time.sleep(KNEE_WARMUP_S)
        self.knee = sample(self.target.pids[0], seconds, self.parked_before)

    def between(self, start: float, end: float) -> tuple[tuple[Use, ...] | None, tuple[Use, ...],
                                                         float | None]:  # fmt: skip
        """Server uses (``None``: not observed), Locust uses and the machine's CPU (100 a
        core) from the first reading at or after ``start`` to the last at or before ``end``."""
        inside = [r for r in self.readings if start <= r.at <= end]
        if len(inside) < 2:
            return None, (), None
        first, last = inside[0], inside[-1]
        server = None
        if first.server is not None and last.server is not None:
            server = _uses(first.server, last.server)
        generator = _uses(first.generator, last.generator)
        machine = 100.0 * (last.machine_busy_s - first.machine_busy_s) / (last.at - first.at)
        return server, generator, round(machine, 1)


def _uses(first: dict[int, processes.Snapshot], last: dict[int, processes.Snapshot]
          ) -> tuple[Use, ...]:  # fmt: skip
    return tuple(processes.use(first[pid], last[pid]) for pid in sorted(last) if pid in first)
