"""Write docs/cli.md from the commands' own ``--help`` (``--check``: fail when it is stale)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from click.testing import CliRunner

from spendcast.cli import main as cli

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def render() -> str:
    runner = CliRunner()
    parts = [
        "# Command reference",
        "",
        "Generated from `--help` by `python scripts/cli_reference.py`; a test keeps it current.",
    ]
    context = click.Context(cli, info_name="spendcast")
    commands: list[list[str]] = [[]]
    for name in cli.list_commands(context):
        commands.append([name])
        group = cli.get_command(context, name)
        if isinstance(group, click.Group):  # spendcast history list, show, ...
            commands += [[name, sub] for sub in group.list_commands(context)]
    for args in commands:
        result = runner.invoke(cli, [*args, "--help"], prog_name="spendcast", terminal_width=100)
        if result.exit_code != 0:
            raise RuntimeError(f"spendcast {' '.join(args)} --help failed: {result.output}")
        title = f"## spendcast {' '.join(args)}".rstrip()
        parts += ["", title, "", "```text", result.output.rstrip(), "```"]
    return "\n".join(parts) + "\n"


def main() -> int:
    text = render()
    if "--check" in sys.argv[1:]:
        if not REFERENCE.exists() or REFERENCE.read_text() != text:
            print(f"{REFERENCE} is stale: run python scripts/cli_reference.py", file=sys.stderr)
            return 1
        return 0
    REFERENCE.write_text(text)
    print(f"wrote {REFERENCE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
