"""The ``spendcast`` console script.

Each sub-command lives in its own module of this package and is imported only when it runs:
``spendcast serve`` must never import Locust (which monkey-patches the standard library through
gevent), and ``spendcast --help`` stays instant.

Exit codes: 0 success, 1 the operation failed, 2 usage error, 3 an SLO was breached.
"""

from __future__ import annotations

import importlib
import importlib.util

import click

# name -> "module:attribute", in the order --help lists them.
COMMANDS: dict[str, str] = {
    "train": "spendcast.cli.train:train",
    "serve": "spendcast.cli.serve:serve",
    "loadtest": "spendcast.cli.loadtest:loadtest",
    "capacity": "spendcast.cli.capacity:capacity",
    "compare": "spendcast.cli.compare:compare",
    "profile": "spendcast.cli.profile:profile",
    "report": "spendcast.cli.report:report",
}

HELP_LINES: dict[str, str] = {
    "train": "Train the spending model and save a versioned skops artifact.",
    "serve": "Serve the prediction API (uvicorn, one socket per worker).",
    "loadtest": "Run a headless Locust load test with exact percentiles and SLO gates.",
    "capacity": "Step the load up until the SLO breaks: the highest load the API holds.",
    "compare": "Compare two runs (or two servers): faster, slower or no difference.",
    "profile": "Load the API while sampling it with py-spy: where the time goes.",
    "report": "Write one self-contained HTML page for run directories.",
}


class LazyGroup(click.Group):
    """A group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if _module_exists(COMMANDS[name])]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None or not _module_exists(target):
            return None
        module_name, attribute = target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, HELP_LINES[name]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _module_exists(target: str) -> bool:
    return importlib.util.find_spec(target.split(":")[0]) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="spendcast")
def main() -> None:
    """spendcast: a customer-spending prediction API and its performance-testing kit.

    Every option can also be set with an environment variable named in its help.
    """
