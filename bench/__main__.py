"""``python -m bench COMMAND``: every benchmark of spendcast behind one command (README.md here).

Each benchmark is a click command in its own module, imported only when it runs (some import
Locust, which monkey-patches the interpreter through gevent). ``compare OLD NEW`` reads two
``results.json`` (``bench/results.py``).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import click

from bench.report import format_table
from bench.results import comparison_rows, read

# name -> (module, one line for --help), in the order --help lists them.
BENCHMARKS: dict[str, tuple[str, str]] = {
    "throughput": (
        "bench.throughput",
        "wrk: spendcast, its /health, the lab, a bare hello.",
    ),
    "generator": ("bench.generator", "Plain Locust against spendcast loadtest, same server."),
    "arrivals": ("bench.arrivals", "How evenly the open model's requests reach the server."),
    "memory": ("bench.serving_only", "Worker memory of a serving-only install (no extras)."),
    "soak": ("bench.soak", "Hours of steady load: memory growth, rows recorded, latency drift."),
    "instructions": ("bench.instructions", "Instructions per request, counted by callgrind."),
    "hotpath": ("bench.hotpath", "Each piece of /predict driven through ASGI calls."),
    "timetable": ("bench.timetable_cost", "CPU per slot of the open model's timetable."),
    "recording": ("bench.recording_cost", "What the kit's recording costs Locust per request."),
    "insert": ("bench.insert_cost", "CPU per row of each way of writing the inference log."),
    "micro": ("bench.micro", "Micro-benchmarks on pytest-benchmark: predict, record()."),
    "diagnosis": ("bench.diagnosis", "capacity's knee accuracy and the cost of its diagnosis."),
}


class Benchmarks(click.Group):
    """A group whose benchmarks are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*BENCHMARKS, *super().list_commands(ctx)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in BENCHMARKS:
            return super().get_command(ctx, cmd_name)
        command = importlib.import_module(BENCHMARKS[cmd_name][0]).main
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, line) for name, (_, line) in BENCHMARKS.items()]
        rows.append(("compare", "Two results.json side by side: each ratio, old and new."))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=Benchmarks, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """spendcast's benchmarks: python -m bench COMMAND --help for each one's options."""


@main.command()
@click.argument("old", type=click.Path(exists=True, path_type=Path))
@click.argument("new", type=click.Path(exists=True, path_type=Path))
def compare(old: Path, new: Path) -> None:
    """Each ratio OLD and NEW both hold (a results.json or its directory), and NEW / OLD."""
    before, after = read(old), read(new)
    if before.benchmark != after.benchmark:
        raise click.UsageError(f"{old} is {before.benchmark}, {new} is {after.benchmark}")
    if before.machine != after.machine:
        click.echo(f"different machines: {before.machine} / {after.machine}", err=True)
    rows = comparison_rows(before, after)
    if not rows:
        raise click.ClickException("no ratio in common")
    header = ["ratio", f"old ({before.created})", f"new ({after.created})", "new / old"]
    click.echo(format_table(header, rows))


if __name__ == "__main__":
    main()
