"""A finished run (``RunResult``) and its ``summary.json`` and plots, written from the recording."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from spendcast.loadtest.shared.abort import Abort
from spendcast.loadtest.shared.recording_file import LoadedRecording
from spendcast.loadtest.shared.run_summary import Summary
from spendcast.loadtest.shared.slo import SloResult


@dataclass(frozen=True)
class RunResult:
    """A finished run: its directory, ``summary.json`` and the decoded recording."""

    out_dir: Path
    summary: Summary
    recording: LoadedRecording
    abort: Abort | None = None  # --abort-on-fail ended the run early (exit code 3)
    # Locust's exit code: the locustfile's ``environment.process_exit_code`` if it set one
    # (Locust's CI recipe), 2 after an error in a greenlet; the run directory is written.
    locust_exit_code: int = 0

    @property
    def passed(self) -> bool:
        return self.abort is None and all(result.passed for result in self.slo_results)

    @property
    def slo_results(self) -> tuple[SloResult, ...]:
        return self.summary.slos

    @property
    def requests(self) -> int:
        return self.summary.total.requests

    @property
    def failures(self) -> int:
        return self.summary.total.failures

    @property
    def rps(self) -> float:
        return self.summary.total.rps

    def count(self, method: str | None = None, name: str | None = None) -> tuple[int, int]:
        """``(requests, failures)`` of every request, a route, or a method and route."""
        tallies = [
            tally
            for (m, n), tally in self.recording.endpoints.items()
            if (name is None or n == name) and (method is None or m == method.upper())
        ]
        return sum(t.requests for t in tallies), sum(t.failures for t in tallies)
