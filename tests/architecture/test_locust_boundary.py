"""Only ``spendcast.loadtest.locust`` imports Locust or gevent; everything else works without.

Locust monkey-patches the process it runs in (gevent), so the CLI side of the kit must never
import it by accident. The names both sides agree on live in ``spendcast.loadtest.shared.contract``.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap

from spendcast.cli.options import Options
from spendcast.loadtest.shared import contract
from tests.architecture.imports import SRC, modules, within

LOCUST_ROOM = "spendcast.loadtest.locust"
SHARED = "spendcast.loadtest.shared"
# What else of spendcast each side may import, and why.
SHARED_MAY_IMPORT = {"spendcast.errors"}  # the one exception module (a leaf)
LOCUST_ROOM_MAY_IMPORT = {
    # The kit's own scenarios draw customers from the population the model is trained on: one
    # definition of it (numpy only, no model code).
    "spendcast.model.dataset",
}
FORBIDDEN_TOPS = ("locust", "gevent")

# In a fresh interpreter, make Locust and gevent unimportable, then import every module
# outside the Locust room; print what was imported.
IMPORT_ALL = textwrap.dedent(
    """
    import importlib, json, pkgutil, sys

    class Refuse:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("locust", "gevent"):
                raise ImportError(f"{name} is refused outside spendcast.loadtest.locust")
            return None

    sys.meta_path.insert(0, Refuse())
    import spendcast

    imported = []
    for info in pkgutil.walk_packages(spendcast.__path__, "spendcast."):
        name = info.name
        if name.endswith(".__main__") or name == "spendcast.loadtest.locust" or (
            name.startswith("spendcast.loadtest.locust.")
        ):
            continue
        importlib.import_module(name)
        imported.append(name)
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("locust", "gevent"))
    print(json.dumps({"imported": imported, "leaked": leaked}))
    """
)


def test_every_module_outside_the_locust_room_imports_without_locust_or_gevent() -> None:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL], capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["leaked"] == []
    imported = set(report["imported"])
    expected = {name for name in modules() if not within(name, LOCUST_ROOM)} - {
        "spendcast",
        "spendcast.__main__",
    }
    assert imported == expected
    assert len(imported) >= 70


def test_the_refusal_really_refuses() -> None:
    probe = IMPORT_ALL.split("import spendcast\n")[0] + "import spendcast.loadtest.locust.hooks\n"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "refused outside spendcast.loadtest.locust" in result.stderr


def _top_level_imports(module_imports: frozenset[str]) -> set[str]:
    return {name.split(".")[0] for name in module_imports} & set(FORBIDDEN_TOPS)


def test_only_the_locust_room_imports_locust_or_gevent() -> None:
    importers = {name for name, module in modules().items() if _top_level_imports(module.imports)}
    assert {f"{LOCUST_ROOM}.hooks", f"{LOCUST_ROOM}.scenarios"} <= importers  # the scan sees them
    assert {name for name in importers if not within(name, LOCUST_ROOM)} == set()


def test_only_the_locust_room_imports_the_locust_room() -> None:
    # The locustfiles are run by path (contract.RECORDING_LOCUSTFILE, ...), never imported.
    importers = {name for name, module in modules().items()
                 if any(within(t, LOCUST_ROOM) for t in module.imports)}  # fmt: skip
    assert f"{LOCUST_ROOM}.locustfiles.spendcast_recording" in importers
    assert {name for name in importers if not within(name, LOCUST_ROOM)} == set()


def _exported(path: object) -> set[str]:
    assert isinstance(path, type(SRC))
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return set(ast.literal_eval(node.value))
    raise AssertionError(f"{path} has no __all__")


def test_the_locustfiles_export_the_user_classes_the_contract_names() -> None:
    scenarios = _exported(contract.SCENARIOS_LOCUSTFILE)
    assert set(contract.SCENARIO_USERS.values()) <= scenarios
    # Put before or after any users' file: they must add no user of their own.
    assert _exported(contract.CAPACITY_LOCUSTFILE) == {"CapacityShape"}
    assert _exported(contract.PLAN_LOCUSTFILE) == {"PlanShape"}
    assert "__all__" not in contract.RECORDING_LOCUSTFILE.read_text(encoding="utf-8")


def test_the_cli_options_and_the_locust_side_read_the_same_variables() -> None:
    # ``spendcast loadtest --think-time`` and plain ``locust`` users read one variable.
    loadtest = Options("loadtest")
    assert loadtest.envvar("--think-time") == contract.THINK_TIME_ENV
    assert loadtest.envvar("--worker-dump") == contract.DUMP_ENV


def test_the_contract_imports_nothing_of_the_kit() -> None:
    imports = modules()["spendcast.loadtest.shared.contract"].imports
    assert {name.split(".")[0] for name in imports} <= {"__future__", "pathlib", "typing"}


def _spendcast_imports(package: str) -> dict[str, set[str]]:
    """Each module of ``package`` with what it imports of spendcast outside ``package``."""
    return {
        name: {t for t in module.imports if within(t, "spendcast") and not within(t, package)}
        for name, module in modules().items()
        if within(name, package)
    }


def _allowed(target: str, packages: set[str]) -> bool:
    return any(within(target, package) for package in packages)


def test_the_locust_room_imports_only_itself_and_the_shared_layer() -> None:
    outside = _spendcast_imports(LOCUST_ROOM)
    assert len(outside) >= 10  # the scan sees the room
    assert any(within(t, SHARED) for targets in outside.values() for t in targets)
    leaks = {
        name: sorted(t for t in targets if not _allowed(t, {SHARED, *LOCUST_ROOM_MAY_IMPORT}))
        for name, targets in outside.items()
    }
    assert {name: found for name, found in leaks.items() if found} == {}


def test_the_shared_layer_imports_neither_side() -> None:
    outside = _spendcast_imports(SHARED)
    assert len(outside) >= 15  # the scan sees the layer
    leaks = {
        name: sorted(t for t in targets if not _allowed(t, SHARED_MAY_IMPORT))
        for name, targets in outside.items()
    }
    assert {name: found for name, found in leaks.items() if found} == {}
    for name, module in modules().items():
        if within(name, SHARED):
            assert not _top_level_imports(module.imports), name


def test_the_exceptions_are_a_leaf() -> None:
    imports = modules()["spendcast.errors"].imports
    assert not {t for t in imports if within(t, "spendcast")}
