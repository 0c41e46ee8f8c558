"""bench.suites: pinning per core count, suite selection, the commands each server runs."""

from __future__ import annotations

from pathlib import Path

from bench.servers import PORT
from bench.suites import Pinning, full_suite, stacks_suite


def test_pinning_separates_server_and_generator() -> None:
    pin = Pinning.for_cpus([0, 1])
    assert (pin.server(1), pin.server(2), pin.generator) == ("0", "0,1", "1")
    assert Pinning.for_cpus([0]) == Pinning(None, None, None)
    assert Pinning.for_cpus([0, 1, 2, 3], enabled=False).generator is None


def test_full_suite_ratios_name_existing_scenarios(tmp_path: Path) -> None:
    suite = full_suite(Pinning.for_cpus([0, 1]), {}, {}, tmp_path)
    names = {s.name for s in suite.scenarios}
    assert {s.server for s in suite.scenarios} == {s.name for s in suite.servers}
    for ratio in suite.ratios:
        assert {ratio.numerator, ratio.denominator} <= names
    assert all(PORT in spec.command for spec in suite.servers)
    two = next(s for s in suite.servers if s.name == "spendcast-2w")
    assert two.workers == 2
    assert two.cpus == "0,1"


def test_select_keeps_needed_servers_and_computable_ratios(tmp_path: Path) -> None:
    suite = full_suite(Pinning.for_cpus([0, 1]), {}, {}, tmp_path).select(("1w",))
    assert {s.name for s in suite.servers} == {"hello-1w", "spendcast-1w", "lab-1w"}
    assert all("2w" not in r.numerator + r.denominator for r in suite.ratios)
    assert suite.ratios
    assert stacks_suite(Pinning(None, None, None)).select(()) == stacks_suite(
        Pinning(None, None, None)
    )
