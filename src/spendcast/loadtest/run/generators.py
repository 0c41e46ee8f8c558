"""Where the users run: local Locust processes, or a master's workers (``Generators``)."""

from __future__ import annotations

from dataclasses import dataclass

from spendcast.loadtest.run.config_rules import Rule, refuse
from spendcast.loadtest.run.distributed import MasterOptions


@dataclass(frozen=True)
class LocalProcesses:
    """Locust's processes on this machine: ``None`` one, ``-1`` one per CPU (``--processes``)."""

    count: int | None = None


Generators = LocalProcesses | MasterOptions


def generators_of(processes: int | None, master: MasterOptions | None) -> Generators:
    """The local processes, or the master; a master and local processes refused."""
    if master is None:
        return LocalProcesses(processes)
    if processes is not None:
        refuse(Rule.MASTER_WITH_PROCESSES)
    return master


def generator_count(generators: Generators) -> int:
    """How many processes share the load: the pool must give each a user at least."""
    if isinstance(generators, MasterOptions):
        return generators.expect_workers
    return generators.count or 1
