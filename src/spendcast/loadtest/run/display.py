"""What the terminal shows: live progress while a run goes, then the results and SLO verdicts."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Self

from rich.console import Console, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from spendcast.loadtest.shared.progress import Progress
from spendcast.loadtest.shared.run_summary import Summary
from spendcast.loadtest.shared.slo import SloResult, format_value
from spendcast.loadtest.shared.summary_figures import Figures

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
        self, console: Console, duration_s: float | None, label: str, open_model: bool = False
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
        limit = "" if self.duration_s is None else f" / {self.duration_s:.0f}s"
        text.append(f"{progress.elapsed:4.0f}s{limit}", style="bold")  # None: a shape ends it
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


def results_table(summary: Summary) -> Table:
    """Per endpoint and total: requests, failures, rps and latency percentiles in ms; the title
    says when ``--abort-on-fail`` ended the run early."""
    title = Text(f"{summary.config.scenario} · {summary.duration_s:.1f} s")
    if summary.abort is not None:
        title.append(f" · aborted at {summary.abort.elapsed_s:.1f} s", style="bold red")
        if planned := summary.config.duration_s:
            title.append(f" of {planned} s", style="bold red")
    table = Table(title=title)
    table.add_column("endpoint", no_wrap=True)
    for header in ("requests", "failures", "rps"):
        table.add_column(header, justify="right")
    for header, _ in (*_LATENCY_COLUMNS, *_TAIL_COLUMNS):
        table.add_column(f"{header} ms", justify="right")
    # Text, not str: a name is shown as written, "[random customer]" is not rich markup.
    rows: list[tuple[Text, Figures, str]] = [
        (Text(e.label), e.figures, "") for e in summary.endpoints
    ]
    rows.append((Text("total"), summary.total, "bold"))
    for label, figures, style in rows:
        latency = figures.latency_ms
        failures = figures.failures
        table.add_row(
            label,
            f"{figures.requests:,}",
            Text(f"{failures:,}", style="red" if failures else ""),
            f"{figures.rps:,.1f}",
            *(_ms(latency.named(key)) for _, key in (*_LATENCY_COLUMNS, *_TAIL_COLUMNS)),
            style=style,
        )
    return table


def _window_table(title: str, headers: Sequence[str], dropped: bool) -> Table:
    """A table of time windows (stages, slices): their own columns, then the figures."""
    table = Table(title=title)
    for header in headers:
        table.add_column(header, justify="right")
    for header in ("requests", "failures", "rps", *(f"{h} ms" for h, _ in _LATENCY_COLUMNS)):
        table.add_column(header, justify="right")
    if dropped:
        table.add_column("dropped", justify="right")
    return table


def _window_figures(figures: Figures) -> list[RenderableType]:
    return [
        f"{figures.requests:,}",
        Text(f"{figures.failures:,}", style="red" if figures.failures else ""),
        f"{figures.rps:,.1f}",
        *(_ms(figures.latency_ms.named(key)) for _, key in _LATENCY_COLUMNS),
    ]


def stages_table(summary: Summary) -> Table:
    """Per stage of the load plan: its window, target and figures."""
    rate = summary.config.rate_model
    table = _window_table(
        "stages", ("stage", "window s", "iterations/s" if rate else "users"), dropped=True
    )
    for stage in summary.stages:
        table.add_row(
            str(stage.index + 1),
            f"{stage.start_s:g}-{stage.end_s:g}",
            f"{stage.target:g}",
            *_window_figures(stage.figures),
            Text(f"{stage.dropped:,}", style="red" if stage.dropped else ""),
        )
    return table


def slices_table(summary: Summary) -> Table:
    """Per time slice of the measured window (``--slice``)."""
    table = _window_table("slices", ("slice", "window s"), dropped=False)
    for part in summary.slices:
        table.add_row(
            str(part.index + 1), f"{part.start_s:g}-{part.end_s:g}", *_window_figures(part.figures)
        )
    return table


def uncorrected_table(summary: Summary) -> Table:
    """Open model: each endpoint's latency from the intended start (what a user waits) beside
    the one from the actual send (the server's share): the gap is queueing in the generator."""
    table = Table(title="open model: latency from the intended start | from the actual send")
    table.add_column("endpoint", no_wrap=True)
    keys = ("p50", "p99", "max")
    for header in keys:
        table.add_column(f"{header} ms", justify="right")
    for header in keys:
        table.add_column(f"sent {header} ms", justify="right")
    rows = [(Text(e.label), e.figures) for e in summary.endpoints]
    for label, figures in [*rows, (Text("total"), summary.total)]:
        corrected, sent = figures.latency_ms, figures.uncorrected_latency_ms
        if sent is None:
            continue
        table.add_row(
            label, *(_ms(corrected.named(k)) for k in keys), *(_ms(sent.named(k)) for k in keys)
        )
    return table


def window_line(summary: Summary) -> Text | None:
    """What the figures cover, when the warm-up left seconds out."""
    window = summary.window
    if not window.start_s:
        return None
    return Text(
        f"figures from {window.start_s:g} s to {window.end_s:g} s: the warm-up's "
        f"{window.warmup_requests:,} requests left out",
        style="dim",
    )


def drift_line(summary: Summary) -> Text | None:
    found = summary.drift
    if found is None or not found.drifted:
        return None
    return Text(found.describe(), style="bold yellow")


def arrivals_line(summary: Summary) -> Text:
    """The open model's iterations: started, late, dropped."""
    dropped = summary.dropped
    text = Text(f"iterations: {summary.iterations or 0:,} started ({summary.late:,} late), ")
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


def print_results(console: Console, summary: Summary, results: Sequence[SloResult]) -> None:
    console.print(results_table(summary))
    if len(summary.stages) > 1:
        console.print(stages_table(summary))
    if summary.slices:
        console.print(slices_table(summary))
    for line in (window_line(summary), drift_line(summary)):
        if line is not None:
            console.print(line)
    if summary.iterations is not None:
        if summary.total.uncorrected_latency_ms is not None:
            console.print(uncorrected_table(summary))
        console.print(arrivals_line(summary))
    for line in slo_lines(results):
        console.print(line)
