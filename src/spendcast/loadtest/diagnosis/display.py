"""The diagnosis in the terminal: the bottleneck, the evidence, what to try, the top functions."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from spendcast.loadtest.diagnosis.figures import Diagnosis

STYLES = {"none": "green", "load-generator": "yellow", "errors": "bold red"}


def diagnosis_view(diagnosis: Diagnosis) -> RenderableType:
    title = Text("diagnosis: ", style="bold")
    title.append(diagnosis.bottleneck, style=STYLES.get(diagnosis.bottleneck, "bold magenta"))
    title.append(f" (confidence {diagnosis.confidence}; server watched by its "
                 f"{diagnosis.server_source})", style="dim")  # fmt: skip
    parts: list[RenderableType] = [title]
    parts += [Text(f"  · {line}") for line in diagnosis.evidence]
    parts += [Text(f"  → try: {line}", style="bold") for line in diagnosis.what_to_try]
    if diagnosis.top_functions:
        table = Table(title="top functions at the knee (own samples)", title_justify="left")
        for header in ("function", "file:line", "share"):
            table.add_column(header, justify="right" if header == "share" else "left")
        for function in diagnosis.top_functions[:5]:
            where = function.file + ("" if function.line is None else f":{function.line}")
            table.add_row(function.function, where, f"{100 * function.share:.1f} %")
        parts.append(table)
    return Group(*parts)
