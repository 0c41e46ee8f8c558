"""What the terminal shows: live progress while a run goes, then the results and SLO verdicts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Self

from rich.console import Console, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from spendcast.loadtest.run.runner import Progress
from spendcast.loadtest.run.slo import SloResult, format_value

_LATENCY_COLUMNS = (("p50", "p50"), ("p90", "p90"), ("p95", "p95"), ("p99", "p99"))
_TAIL_COLUMNS = (("p99.9", "p99_9"), ("max", "max"))


class LiveView:
    """A rich ``Live`` view shown while its ``with`` block runs, gone when it ends."""

    def __init__(self, console: Console, first: RenderableType) -> None:
        self._live = Live(first, console=console, refresh_per_second=4, transient=True)

    def __enter__(self) -> Self:
        self._live.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._live.__exit__(kind, error, traceback)


class LiveProgress(LiveView):
    """A one-line live view: elapsed/duration, users, rps, failures, current p95."""

    def __init__(
        self, console: Console, duration_s: float, label: str, open_model: bool = False
    ) -> None:
        self.duration_s = duration_s
        self.label = label
        self.open_model = open_model
        super().__init__(console, self._render(None))

    def update(self, progress: Progress) -> None:
        self._live.update(self._render(progress))

    def _render(self, progress: Progress | None) -> Text:
        if progress is None:
            return Text(f"{self.label}: starting Locust…", style="dim")
        p95 = "–" if progress.p95_ms is None else f"{progress.p95_ms:g} ms"
        failures_style = "bold red" if progress.failures else "green"
        text = Text(f"{self.label}  ")
        text.append(f"{progress.elapsed:4.0f}s / {self.duration_s:.0f}s", style="bold")
        text.append(f"  users {progress.users}  rps {progress.rps:,.0f}  ")
        text.append(f"failures {progress.failures}", style=failures_style)
        if self.open_model:
            text.append(
                f"  dropped {progress.dropped}", style="bold red" if progress.dropped else ""
            )
        text.append(f"  p95 {p95}  requests {progress.requests:,}")
        return text


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.2f}"


def results_table(summary: Mapping[str, Any]) -> Table:
    """Per endpoint and total: requests, failures, rps and latency percentiles in ms; the title
    says when ``--abort-on-fail`` ended the run early."""
    title = Text(f"{summary['config'].get('scenario', '')} · {summary['duration_s']:.1f} s")
    if summary.get("aborted"):
        title.append(f" · aborted at {summary['abort']['elapsed_s']:.1f} s", style="bold red")
        if planned := summary["config"].get("duration_s"):
            title.append(f" of {planned} s", style="bold red")
    table = Table(title=title)
    table.add_column("endpoint", no_wrap=True)
    for header in ("requests", "failures", "rps"):
        table.add_column(header, justify="right")
    for header, _ in (*_LATENCY_COLUMNS, *_TAIL_COLUMNS):
        table.add_column(f"{header} ms", justify="right")
    rows: list[tuple[str, Mapping[str, Any], str]] = [
        (f"{e['method']} {e['name']}", e, "") for e in summary["endpoints"]
    ]
    rows.append(("total", summary, "bold"))
    for label, figures, style in rows:
        latency = figures["latency_ms"]
        failures = figures["failures"]
        table.add_row(
            label,
            f"{figures['requests']:,}",
            Text(f"{failures:,}", style="red" if failures else ""),
            f"{figures['rps']:,.1f}",
            *(_ms(latency[key]) for _, key in (*_LATENCY_COLUMNS, *_TAIL_COLUMNS)),
            style=style,
        )
    return table


def stages_table(summary: Mapping[str, Any]) -> Table:
    """Per stage of the load plan: its window, target and figures."""
    rate = (summary["config"].get("load_plan") or {}).get("model") == "rate"
    table = Table(title="stages")
    for header in ("stage", "window s", "iterations/s" if rate else "users"):
        table.add_column(header, justify="right")
    for header in ("requests", "failures", "rps", *(f"{h} ms" for h, _ in _LATENCY_COLUMNS)):
        table.add_column(header, justify="right")
    table.add_column("dropped", justify="right")
    for stage in summary["stages"]:
        latency = stage["latency_ms"]
        table.add_row(
            str(stage["index"] + 1),
            f"{stage['start_s']:g}-{stage['end_s']:g}",
            f"{stage['target']:g}",
            f"{stage['requests']:,}",
            Text(f"{stage['failures']:,}", style="red" if stage["failures"] else ""),
            f"{stage['rps']:,.1f}",
            *(_ms(latency[key]) for _, key in _LATENCY_COLUMNS),
            Text(f"{stage['dropped']:,}", style="red" if stage["dropped"] else ""),
        )
    return table


def arrivals_line(summary: Mapping[str, Any]) -> Text:
    """The open model's iterations: started, late, dropped."""
    dropped = summary["dropped"]
    text = Text(f"iterations: {summary['iterations']:,} started ({summary['late']:,} late), ")
    text.append(f"{dropped:,} dropped", style="bold red" if dropped else "green")
    if dropped:
        text.append(" (no free user: raise --max-users, or the server is too slow)")
    return text


def slo_lines(results: Sequence[SloResult]) -> list[Text]:
    """One line per SLO: ✓ or ✗, the expression, its threshold and what was observed."""
    lines = []
    for result in results:
        mark, style = ("✓", "green") if result.passed else ("✗", "bold red")
        observed = (
            "no request" if result.observed is None
            else format_value(result.slo.metric, result.observed)
        )  # fmt: skip
        line = Text(f"{mark} ", style=style)
        line.append(f"{result.slo.expression}: observed {observed} (must be ")
        line.append(f"{result.slo.describe_threshold()})")
        lines.append(line)
    return lines


def print_results(
    console: Console, summary: Mapping[str, Any], results: Sequence[SloResult]
) -> None:
    console.print(results_table(summary))
    if len(summary.get("stages", ())) > 1:
        console.print(stages_table(summary))
    if summary.get("iterations") is not None:
        console.print(arrivals_line(summary))
    for line in slo_lines(results):
        console.print(line)
