"""The import graph of ``src/spendcast`` has no cycle and its arrows point down; ``bench/`` is
read too for cycles and so that nothing in the package imports a benchmark.

cli -> server -> api / loadtest -> model / monitoring -> settings / errors (DESIGN.md);
``loadtest`` talks HTTP only, so it imports neither ``api`` nor ``monitoring``; ``api`` sees
the server only through ``server.contract``. See ``imports`` for how
the graph is read (function-level imports count, ``TYPE_CHECKING`` ones do not).
"""

from __future__ import annotations

import graphlib

import pytest

from tests.architecture.imports import WITH_BENCH, graph, modules, within

# (importer, imported): no module of the first package may import the second.
FORBIDDEN = [
    ("spendcast", "bench"),  # the benchmarks measure the package, never the other way round
    ("spendcast.loadtest", "spendcast.api"),
    ("spendcast.loadtest", "spendcast.monitoring"),
    ("spendcast.loadtest", "spendcast.server"),
    ("spendcast.server", "spendcast.cli"),
    *((low, high) for low in ("spendcast.model", "spendcast.monitoring")
      for high in ("spendcast.api", "spendcast.cli", "spendcast.loadtest", "spendcast.server")),
    *((bottom, other) for bottom in ("spendcast.settings", "spendcast.errors")
      for other in ("spendcast.api", "spendcast.cli", "spendcast.loadtest", "spendcast.model",
                    "spendcast.monitoring", "spendcast.server")),
]  # fmt: skip
SERVER_CONTRACT = "spendcast.server.contract"


def test_the_graph_is_the_whole_package() -> None:
    edges = graph()
    assert len(edges) >= 80, sorted(edges)
    assert sum(len(targets) for targets in edges.values()) >= 150
    # Spot checks that the reader sees each kind of import.
    assert "spendcast.loadtest.shared.summary" in edges["spendcast.loadtest.shared.run_files"]
    files = edges["spendcast.loadtest.shared.run_files"]
    assert "spendcast.loadtest.shared.plots" in files  # in a function
    assert (
        "spendcast.loadtest.locust.hooks"
        in edges["spendcast.loadtest.locust.locustfiles.spendcast_recording"]
    )
    with_bench = graph(WITH_BENCH)
    assert "bench.memory" in with_bench["bench.serving_only"]
    assert "spendcast.server.workers" in with_bench["bench.serve_stack"]


def test_no_import_cycle() -> None:
    sorter = graphlib.TopologicalSorter(graph(WITH_BENCH))  # bench/ too
    try:
        sorter.prepare()
    except graphlib.CycleError as error:
        pytest.fail(f"import cycle: {' -> '.join(error.args[1])}")


def test_a_cycle_would_be_seen() -> None:
    cyclic = {
        **graph(),
        "spendcast.loadtest.shared.latency": frozenset({"spendcast.loadtest.run.runner"}),
    }
    with pytest.raises(graphlib.CycleError):
        graphlib.TopologicalSorter(cyclic).prepare()


@pytest.mark.parametrize(("importer", "imported"), FORBIDDEN)
def test_dependency_direction(importer: str, imported: str) -> None:
    assert any(within(name, importer) for name in modules(WITH_BENCH)), f"no module in {importer}"
    wrong = sorted(
        f"{name} -> {target}"
        for name, targets in graph(WITH_BENCH).items()
        if within(name, importer)
        for target in targets
        if within(target, imported)
    )
    assert wrong == []


def test_only_the_cli_imports_the_cli() -> None:
    importers = {name for name, targets in graph().items()
                 if any(within(t, "spendcast.cli") for t in targets)}  # fmt: skip
    assert importers  # the commands import each other's public parts (options)
    assert {name for name in importers if not within(name, "spendcast.cli")} == {
        "spendcast.__main__"
    }


def test_the_app_sees_the_server_only_through_its_contract() -> None:
    seen = {target for name, targets in graph().items() if within(name, "spendcast.api")
            for target in targets if within(target, "spendcast.server")}  # fmt: skip
    assert seen == {SERVER_CONTRACT}  # the fast path and the app factory use it
    assert {t for t in graph()[SERVER_CONTRACT] if within(t, "spendcast")} == {"spendcast.settings"}


def test_the_server_package_holds_the_protocol_and_the_workers() -> None:
    edges = graph()
    assert {"spendcast.server.protocol", "spendcast.server.workers"} <= set(edges)
    assert "spendcast.server.workers" in edges["spendcast.cli.serve"]
    assert "spendcast.server.config" in edges["spendcast.cli.serve"]
    assert not any(name.startswith("spendcast.api.protocol") for name in edges)


def reachable(start: str) -> set[str]:
    """Every spendcast module ``start`` imports, directly or through others."""
    edges, seen, pending = graph(), set[str](), [start]
    while pending:
        for target in edges[pending.pop()] - seen:
            seen.add(target)
            pending.append(target)
    return seen


@pytest.mark.parametrize("command", ["spendcast.cli.serve", "spendcast.cli.train"])
def test_the_serving_commands_load_nothing_of_the_kit(command: str) -> None:
    imported = reachable(command)
    assert "spendcast.cli.env_options" in imported
    assert {name for name in imported if within(name, "spendcast.loadtest")} <= {
        "spendcast.loadtest.shared.contract"
    }


def test_reachable_follows_imports_through_other_modules() -> None:
    kit = reachable("spendcast.cli.loadtest")
    assert "spendcast.loadtest.shared.duration" in kit  # through cli.options
    assert "spendcast.loadtest.shared.contract" in kit
