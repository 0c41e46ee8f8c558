"""Baseline against candidate: two run directories, or two server commands run in pairs.

``compare_servers`` starts both commands (``server_process.started_server``: a free port each,
``{port}`` substituted, ready when ``ready_path`` answers), loads each once to warm it up, then
runs the same scenario on each in turn for ``pairs`` pairs, in ABBA order (A B, B A, A B…) so
that drift over time (a growing database, a warming cache, a neighbour's noisy job) hits both
alike. ``compare_dirs`` compares two existing runs. Both write the comparison directory
(``report.write_comparison``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from spendcast.loadtest.compare.stats import (
    ALPHA,
    NO_DIFFERENCE,
    THRESHOLD,
    FigureComparison,
    compare_pairs,
    compare_seconds,
    headline,
    overall,
)
from spendcast.loadtest.run.config import RunConfig
from spendcast.loadtest.run.gates import Gates
from spendcast.loadtest.run.load import ClosedLoad, FileShapeLoad, Load
from spendcast.loadtest.run.output import Output
from spendcast.loadtest.run.result import RunResult
from spendcast.loadtest.run.runner import run_load
from spendcast.loadtest.run.server_process import started_server
from spendcast.loadtest.shared.contract import RECORDING_FILE
from spendcast.loadtest.shared.latency import LatencyHistogram
from spendcast.loadtest.shared.recording_file import read_recording
from spendcast.loadtest.shared.run_files import read_summary
from spendcast.loadtest.shared.run_summary import Summary

SIDES = ("baseline", "candidate")


@dataclass(frozen=True)
class Side:
    """One of the two things compared: a label, and a server command or run directories."""

    label: str
    command: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    run_dirs: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Comparison:
    baseline: Side
    candidate: Side
    method: str  # "pairs" or "seconds"
    figures: list[FigureComparison]
    config: dict[str, Any]
    alpha: float = ALPHA
    threshold: float = THRESHOLD

    @property
    def verdict(self) -> str:
        return overall(self.figures)

    @property
    def headline(self) -> str:
        return headline(self.figures, self.baseline.label, self.candidate.label)

    def failure(self, fail_if: str | None) -> str | None:
        """Why ``--fail-if slower`` (some figure significantly worse) or ``different`` (any
        significant difference) fails this comparison; ``None``: the gate holds."""
        worse = [f.name for f in self.figures if f.verdict in ("slower", "more errors")]
        if fail_if == "slower" and worse:
            return f"the candidate is worse on {', '.join(worse)} (--fail-if slower)"
        if fail_if == "different" and self.verdict != NO_DIFFERENCE:
            return f"the candidate differs: {self.verdict} (--fail-if different)"
        return None

    @property
    def significance(self) -> str:
        if self.method == "pairs":
            how = (f"{len(self.baseline.run_dirs)} interleaved pairs (ABBA order); a figure "
                   f"differs when a paired t-test on the per-pair log ratios gives p < "
                   f"{self.alpha:g} and the geometric mean ratio is beyond ±"
                   f"{self.threshold * 100:g} %; the spread is the ratio's "
                   f"{(1 - self.alpha) * 100:g} % confidence interval")  # fmt: skip
        else:
            how = ("one run each; every full second is a sample: a figure differs when a "
                   f"Mann-Whitney U test gives p < {self.alpha:g} and the whole-run ratio is "
                   f"beyond ±{self.threshold * 100:g} % (errors: Fisher's exact test)")  # fmt: skip
        return how + "; the error rate must also move by at least 0.1 percentage point."

    def to_json(self) -> dict[str, Any]:
        def side(s: Side) -> dict[str, Any]:
            return {"label": s.label, "command": s.command,
                    "runs": [str(p) for p in s.run_dirs]}  # fmt: skip

        return {
            "schema_version": 1,
            "baseline": side(self.baseline),
            "candidate": side(self.candidate),
            "method": self.method,
            "pairs": len(self.baseline.run_dirs),
            "alpha": self.alpha,
            "threshold": self.threshold,
            "config": self.config,
            "verdict": self.verdict,
            "headline": self.headline,
            "significance": self.significance,
            "figures": [f.as_dict() for f in self.figures],
        }


def merged_histogram(run_dirs: Sequence[Path]) -> LatencyHistogram:
    """Every request of these runs in one histogram (for the latency distribution chart)."""
    histograms = []
    for run_dir in run_dirs:
        if (run_dir / RECORDING_FILE).exists():
            recording = read_recording(run_dir / RECORDING_FILE)
            histograms += [t.histogram for t in recording.endpoints.values()]
    return LatencyHistogram.merged(histograms)


def compare_dirs(
    baseline: Path, candidate: Path, *, alpha: float = ALPHA, threshold: float = THRESHOLD
) -> Comparison:
    return compare_summaries(
        read_summary(baseline), read_summary(candidate),
        Side(baseline.name, run_dirs=(baseline,)), Side(candidate.name, run_dirs=(candidate,)),
        alpha=alpha, threshold=threshold,
    )  # fmt: skip


def compare_summaries(
    base: Summary,
    cand: Summary,
    baseline: Side,
    candidate: Side,
    *,
    alpha: float = ALPHA,
    threshold: float = THRESHOLD,
) -> Comparison:
    """Two single runs' summaries, second by second (``compare_dirs``, a stored baseline)."""
    figures = compare_seconds(base, cand, alpha=alpha, threshold=threshold)
    config = {"baseline": base.config.to_json(), "candidate": cand.config.to_json()}
    return Comparison(baseline, candidate, "seconds", figures, config, alpha, threshold)


def compare_servers(
    baseline: Side,
    candidate: Side,
    base: RunConfig,
    out_dir: Path,
    *,
    pairs: int = 5,
    warmup_s: int = 2,
    cwd: Path | None = None,
    ready_path: str = "/ready",
    alpha: float = ALPHA,
    threshold: float = THRESHOLD,
    on_run: Callable[[str, int, RunResult | None], None] | None = None,
) -> Comparison:
    """Start both servers, warm them up, run ``pairs`` interleaved pairs; the comparison.

    ``on_run(side, pair, result)`` is called before each run (``result`` ``None``) and after.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    sides = {"baseline": baseline, "candidate": candidate}
    results: dict[str, list[RunResult]] = {"baseline": [], "candidate": []}
    with ExitStack() as stack:
        hosts = {}
        for name, side in sides.items():
            assert side.command is not None
            log = stack.enter_context((out_dir / f"{name}-server.log").open("wb"))
            server = stack.enter_context(started_server(
                side.command, cwd=cwd, env=side.env, ready_path=ready_path, output=log,
            ))  # fmt: skip
            hosts[name] = server.url
        for name in SIDES if warmup_s > 0 else ():
            warm = replace(base, target=replace(base.target, host=hosts[name]),
                           load=warmup_load(base.load, warmup_s), gates=Gates(),
                           output=Output(out_dir / "warmup" / name, plots=False))  # fmt: skip
            run_load(warm)
        for pair in range(1, pairs + 1):
            for name in SIDES if pair % 2 else SIDES[::-1]:
                if on_run:
                    on_run(name, pair, None)
                config = replace(base, target=replace(base.target, host=hosts[name]),
                                 gates=Gates(),
                                 output=Output(out_dir / f"pair-{pair}-{name}", False))  # fmt: skip
                results[name].append(run_load(config))
                if on_run:
                    on_run(name, pair, results[name][-1])
    figures = compare_pairs(
        [r.summary for r in results["baseline"]], [r.summary for r in results["candidate"]],
        alpha=alpha, threshold=threshold,
    )  # fmt: skip
    described = {**base.public().to_json(), "host": None, "pairs": pairs, "warmup_s": warmup_s}
    return Comparison(
        replace(baseline, run_dirs=tuple(r.out_dir for r in results["baseline"])),
        replace(candidate, run_dirs=tuple(r.out_dir for r in results["candidate"])),
        "pairs", figures, described, alpha, threshold,
    )  # fmt: skip


def warmup_load(load: Load, warmup_s: int) -> Load:
    """``load`` for the warm-up's ``warmup_s`` (a plan or a replay: as it is)."""
    if isinstance(load, ClosedLoad):
        return replace(load, duration_s=warmup_s)
    return FileShapeLoad(warmup_s) if isinstance(load, FileShapeLoad) else load
