"""``spendcast loadtest --worker``: what a worker may take (the master sends the rest), and
the worker run itself."""

from __future__ import annotations

import click
from click.core import ParameterSource

from spendcast.cli.errors import BadInput
from spendcast.loadtest.run.distributed import WorkerConfig

# What a --worker honours; every other option and USER_CLASS is the master's (refuse_...).
WORKER_FLAGS = ("master-host", "master-port", "processes", "worker-dump", "think-time")
WORKER_OPTIONS = frozenset({"worker", "locustfile", *(o.replace("-", "_") for o in WORKER_FLAGS)})


def refuse_master_options(ctx: click.Context) -> None:
    """A ``--worker`` takes only ``WORKER_OPTIONS``: the master sends the rest (host, scenario
    or user classes, load, tags) or keeps it (SLOs, run directory, exports); one line, exit 2."""
    if ctx.params["master"]:
        raise BadInput("--worker and --master exclude each other")
    given = []
    for param in ctx.command.params:
        source = ctx.get_parameter_source(param.name or "")
        if param.name in WORKER_OPTIONS or source in (None, ParameterSource.DEFAULT):
            continue
        if isinstance(param, click.Argument):
            if ctx.params[param.name or ""]:
                given.append("USER_CLASS " + " ".join(ctx.params[param.name or ""]))
            continue
        name = max(param.opts, key=len)
        env = getattr(param, "envvar", None)
        given.append(f"{name} ({env})" if source == ParameterSource.ENVIRONMENT else name)
    if given:
        verb = "belongs" if len(given) == 1 else "belong"
        raise BadInput(f"{', '.join(given)} {verb} to the master, not a --worker (a worker "
                       f"takes only {', '.join(f'--{o}' for o in WORKER_FLAGS)} and "
                       "-f/--locustfile)")  # fmt: skip


def work(config: WorkerConfig) -> None:
    from spendcast.loadtest.run.distributed import run_worker

    code = run_worker(config)
    if code != 0:
        raise click.ClickException(f"the Locust worker exited with code {code}")
