"""The ``spendcast`` console script.

Each sub-command lives in its own module of this package and is imported only when it runs:
``spendcast serve`` must never import Locust (which monkey-patches the standard library through
gevent), and ``spendcast --help`` stays instant.

Plain ``pip install spendcast`` has ``train`` and ``serve``; the kit's commands need
``spendcast[loadtest]``. A command whose extra is missing -- found before it is imported, or a
``ModuleNotFoundError`` of one of the extra's modules while it is imported or runs -- ends with
one line naming the extra to install, exit code 2, never a traceback.

Exit codes: 0 success, 1 the operation failed, 2 usage error, 3 an SLO was breached.
"""

from __future__ import annotations

import importlib
from typing import Any, NoReturn

import click

from spendcast.extras import extra_providing, install_hint, missing_modules

# name -> ("module:attribute", the extra it needs), in the order --help lists them.
COMMANDS: dict[str, tuple[str, str | None]] = {
    "train": ("spendcast.cli.train:train", None),
    "serve": ("spendcast.cli.serve:serve", None),
    "loadtest": ("spendcast.cli.loadtest:loadtest", "loadtest"),
    "capacity": ("spendcast.cli.capacity:capacity", "loadtest"),
    "compare": ("spendcast.cli.compare:compare", "loadtest"),
    "profile": ("spendcast.cli.profile:profile", "loadtest"),
    "report": ("spendcast.cli.report:report", "loadtest"),
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


class MissingExtra(click.ClickException):
    """An optional part is not installed: a usage error (exit code 2), in one line."""

    exit_code = 2


class LazyGroup(click.Group):
    """A group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        target, extra = COMMANDS[cmd_name]
        if extra is not None and (missing := missing_modules(extra)):
            _refuse(cmd_name, extra, ", ".join(missing))
        module_name, attribute = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            _refuse_if_optional(cmd_name, error)
            raise
        command = getattr(module, attribute)
        assert isinstance(command, click.Command)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ModuleNotFoundError as error:
            _refuse_if_optional(ctx.invoked_subcommand or "spendcast", error)
            raise

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        missing = {extra: bool(missing_modules(extra)) for _, extra in COMMANDS.values() if extra}
        rows = []
        for name in self.list_commands(ctx):
            extra = COMMANDS[name][1]
            needs = f" Needs: {install_hint(extra)}." if extra and missing[extra] else ""
            rows.append((name, HELP_LINES[name] + needs))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _refuse_if_optional(command: str, error: ModuleNotFoundError) -> None:
    extra = extra_providing(error.name)
    if extra is not None:
        _refuse(command, extra, str(error.name))


def _refuse(command: str, extra: str, missing: str) -> NoReturn:
    raise MissingExtra(
        f"spendcast {command} needs the {extra} extra, not installed (no {missing}): "
        f"{install_hint(extra)}"
    )


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="spendcast")
def main() -> None:
    """spendcast: a customer-spending prediction API and its performance-testing kit.

    Every option can also be set with an environment variable named in its help.
    """
