"""Locust's master/worker flags of ``spendcast loadtest`` (see docs/distributed.md)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from spendcast.loadtest.distributed import DEFAULT_MASTER_PORT, DEFAULT_WORKERS_WAIT_S


def distributed_options(command: Callable[..., None]) -> Callable[..., None]:
    """Locust's own flags for several load-generating machines."""
    options = [
        click.option(
            "--master",
            is_flag=True,
            envvar="SPENDCAST_LOADTEST_MASTER",
            help="Distributed run: this process runs no user, waits for --expect-workers "
            "workers, merges their exact histograms, writes the run directory and checks the "
            "SLOs. Env: SPENDCAST_LOADTEST_MASTER.",
        ),
        click.option(
            "--master-bind-host",
            default="*",
            show_default=True,
            envvar="SPENDCAST_LOADTEST_MASTER_BIND_HOST",
            help="Master: interface the workers connect to. "
            "Env: SPENDCAST_LOADTEST_MASTER_BIND_HOST.",
        ),
        click.option(
            "--master-bind-port",
            type=click.IntRange(1, 65534),
            default=DEFAULT_MASTER_PORT,
            show_default=True,
            envvar="SPENDCAST_LOADTEST_MASTER_BIND_PORT",
            help="Master: TCP port the workers connect to. "
            "Env: SPENDCAST_LOADTEST_MASTER_BIND_PORT.",
        ),
        click.option(
            "--expect-workers",
            type=click.IntRange(min=1),
            default=1,
            show_default=True,
            envvar="SPENDCAST_LOADTEST_EXPECT_WORKERS",
            help="Master: workers to wait for before starting (a worker with --processes N "
            "counts N). Env: SPENDCAST_LOADTEST_EXPECT_WORKERS.",
        ),
        click.option(
            "--expect-workers-max-wait",
            type=click.IntRange(min=1),
            default=DEFAULT_WORKERS_WAIT_S,
            show_default=True,
            envvar="SPENDCAST_LOADTEST_EXPECT_WORKERS_MAX_WAIT",
            help="Master: seconds to wait for the workers before failing (exit code 1). "
            "Env: SPENDCAST_LOADTEST_EXPECT_WORKERS_MAX_WAIT.",
        ),
        click.option(
            "--worker",
            is_flag=True,
            envvar="SPENDCAST_LOADTEST_WORKER",
            help="Distributed run: only send requests, as the master says; exits with 0 when "
            "the master ends the run. Env: SPENDCAST_LOADTEST_WORKER.",
        ),
        click.option(
            "--master-host",
            default="127.0.0.1",
            show_default=True,
            envvar="SPENDCAST_LOADTEST_MASTER_HOST",
            help="Worker: the master's address. Env: SPENDCAST_LOADTEST_MASTER_HOST.",
        ),
        click.option(
            "--master-port",
            type=click.IntRange(1, 65534),
            default=DEFAULT_MASTER_PORT,
            show_default=True,
            envvar="SPENDCAST_LOADTEST_MASTER_PORT",
            help="Worker: the master's --master-bind-port. Env: SPENDCAST_LOADTEST_MASTER_PORT.",
        ),
        click.option(
            "--worker-dump",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            envvar="SPENDCAST_LOADTEST_WORKER_DUMP",
            help="Worker: also write all each process recorded to DIR/worker-<id>.json "
            "(recording.json format), to check the merge. Env: SPENDCAST_LOADTEST_WORKER_DUMP.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command
