"""Fixtures shared by every test folder, and the test tiers.

``slow`` is given here, at collection, to every test that starts a real server, subprocess or
browser, or runs a property search (hypothesis): its folder, marker, fixture or the modules its
module imports say so, so a test added to one of those folders or modules is slow without being
marked by hand; ``SLOW_TESTS`` names the few that no rule sees, each with its reason.
``make check`` runs the rest (``-m "not slow"``), ``make test`` everything.

Under pytest-xdist (``--dist loadgroup``), the tests sharing a fixture built once per module, or
one of ``SHARED_FIXTURES``, form one group run by one worker: otherwise each worker builds its
own (a virtualenv, container images, a server). The collection is ordered longest first, by
each group's (or lone test's) seconds in ``durations.json`` (a test not in it yet counts
``NEW_SLOW_TEST_S`` if slow, 0 if not), which with ``--no-loadscope-reorder`` is the order
workers take them in: no long test starts last, and the short ones fill the gaps at the end.
``pytest --write-durations tests/durations.json`` (a whole run) refreshes that file.
pytest stays under 9.2: xdist 3.8 puts the group into ``item._nodeid``, which 9.2 no longer
reads, and every group is then ignored (tests/dependencies/test_pytest_xdist.py).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.server import MODEL_CACHE, serve_from

pytest_plugins = ["tests.support.postgres"]

TESTS = Path(__file__).resolve().parent
# Folders (first level under tests/) whose every test starts servers, subprocesses or browsers.
SLOW_FOLDERS = frozenset({"e2e", "reliability", "distributed", "browser", "bench", "packaging"})
# Markers and fixtures that mean the same in any other folder.
SLOW_MARKERS = frozenset({"e2e", "browser", "postgres"})
SLOW_FIXTURES = frozenset({"live_metrics", "postgres_url"})
# A test module that imports one of these starts processes, or runs property searches.
SLOW_IMPORTS = frozenset({"subprocess", "multiprocessing", "concurrent.futures", "hypothesis"})
# Modules or tests slow for a reason no rule above sees (path under tests/[::test]: the reason).
SLOW_TESTS = {
    "api/test_faults.py": "an app started (lifespan, model, recorder) per fault point, 44 of them",
    "loadtest/run/test_locustfile.py": "Locust loads each file in a subprocess of its own",
    "monitoring/test_backpressure.py::test_best_effort_journal_on_a_full_disk_keeps_rows_in_"
    "memory_and_writes_them": "~8 s: 300 rows drained through journal errors, each batch retried",
}
# Session fixtures costly enough to be built once per run, not once per xdist worker.
SHARED_FIXTURES = frozenset({
    "live_metrics",  # a server, its traffic and a load test
    "images",  # the container images: one worker builds them while the others run other tests
    "serving_only_venv",  # a pip install of the package
    "capacity_run",  # a capacity search read by the report page's and the summary's tests
})  # fmt: skip
# Each test's seconds (setup to teardown) in a whole run, by node id: the scheduling's input.
DURATIONS = TESTS / "durations.json"
NEW_SLOW_TEST_S = 10.0  # a slow test not in DURATIONS yet: among the long ones, not last
POSTGRES_URL = os.environ.get(
    "SPENDCAST_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def is_slow(item: pytest.Item) -> bool:
    path = item.path.relative_to(TESTS)
    markers = {marker.name for marker in item.iter_markers()}
    fixtures = set(getattr(item, "fixturenames", ()))
    return (
        path.parts[0] in SLOW_FOLDERS
        or path.as_posix() in SLOW_TESTS
        or f"{path.as_posix()}::{item.name}" in SLOW_TESTS
        or bool(markers & SLOW_MARKERS or fixtures & SLOW_FIXTURES)
        or bool(_imports(getattr(item, "module", None)) & SLOW_IMPORTS)
    )


def _imports(module: ModuleType | None) -> set[str]:
    """The modules a test module's globals come from: ``import x`` and ``from x import y``."""
    names = vars(module).values() if module is not None else ()
    found = {v.__name__ for v in names if isinstance(v, ModuleType)}
    found |= {v.__module__ for v in names if isinstance(getattr(v, "__module__", None), str)}
    return {name for full in found for name in _prefixes(full)}


def _prefixes(name: str) -> list[str]:
    """``concurrent.futures.process`` -> itself, ``concurrent.futures``, ``concurrent``."""
    parts = name.split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts) + 1)]


def shared_fixture_group(item: pytest.Item) -> str | None:
    """The xdist group of a test using a fixture built once for many tests, if it uses one."""
    info = getattr(item, "_fixtureinfo", None)
    definitions = info.name2fixturedefs if info is not None else {}
    shared = sorted(SHARED_FIXTURES.intersection(definitions))
    if shared:
        return shared[0]
    if any(defs[-1].scope == "module" for defs in definitions.values()):
        return item.path.relative_to(TESTS).as_posix()
    return None


def expected_seconds(item: pytest.Item, durations: dict[str, float]) -> float:
    default = NEW_SLOW_TEST_S if item.get_closest_marker("slow") else 0.0
    return durations.get(item.nodeid, default)


def longest_first(items: list[pytest.Item], groups: dict[str, str]) -> list[pytest.Item]:
    """``items`` ordered by the seconds of the unit a worker takes them in (their group, or
    the test alone), longest first; a group's tests keep their order."""
    durations: dict[str, float] = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    unit_seconds: dict[str, float] = {}
    for item in items:
        unit = groups.get(item.nodeid, item.nodeid)
        unit_seconds[unit] = unit_seconds.get(unit, 0.0) + expected_seconds(item, durations)
    return sorted(items, key=lambda item: -unit_seconds[groups.get(item.nodeid, item.nodeid)])


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups into the test ids
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    groups: dict[str, str] = {}
    for item in items:
        if is_slow(item):
            item.add_marker(pytest.mark.slow)
        group = shared_fixture_group(item)
        if group is None:
            continue
        groups[item.nodeid] = group
        # Not under ``-p no:xdist`` (``bench micro``): the marker is xdist's, unknown there.
        if item.config.pluginmanager.hasplugin("xdist"):
            item.add_marker(pytest.mark.xdist_group(group))
    items[:] = longest_first(items, groups)  # stable: ties keep the collection's order


def pytest_configure(config: pytest.Config) -> None:
    _hear_ctrl_c()
    _share_one_model_cache(config)


def _hear_ctrl_c() -> None:
    """A run started in the background by a script (``make test &``) inherits SIGINT ignored,
    and so would every process it starts, whose ``spendcast ui`` then never stops on the
    Ctrl-C the tests send. A handler here is reset to the default in every child (exec)."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _share_one_model_cache(config: pytest.Config) -> None:
    """One model cache for every ``spendcast serve`` the run starts (``MODEL_CACHE``), made by
    the controller, inherited by xdist's workers and every process they start: a trained model
    is compiled once per run, not once per server start (~1-2.5 CPU-s each). A test of the
    default (a private directory per server) unsets it."""
    if MODEL_CACHE in os.environ or hasattr(config, "workerinput"):
        return
    made = tempfile.mkdtemp(prefix="spendcast-tests-models-")
    os.environ[MODEL_CACHE] = made
    config.add_cleanup(lambda: shutil.rmtree(made, ignore_errors=True))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--write-durations", metavar="PATH", type=Path, default=None,
        help="Write each slow test's seconds (and any other's over 0.5 s) to PATH as JSON: "
        "tests/durations.json, from a whole run.",
    )  # fmt: skip


_measured: dict[str, float] = {}  # node id -> seconds, for --write-durations


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Setup, call and teardown of each test, added up (in xdist's controller too)."""
    nodeid = report.nodeid
    if nodeid.rfind("@") > nodeid.rfind("]"):  # xdist's group, written into the id
        nodeid = nodeid.rpartition("@")[0]
    if "slow" in report.keywords or report.duration >= 0.5 or nodeid in _measured:
        _measured[nodeid] = _measured.get(nodeid, 0.0) + report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = session.config.getoption("--write-durations")
    if path is None or hasattr(session.config, "workerinput"):  # the controller writes it
        return
    rounded = {nodeid: round(seconds, 1) for nodeid, seconds in sorted(_measured.items())}
    path.write_text(json.dumps(rounded, indent=0) + "\n")


@pytest.fixture(scope="session")
def trained_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model directory holding one model trained by the real `spendcast train`, once per run."""
    model_dir = tmp_path_factory.mktemp("models")
    subprocess.run(
        [sys.executable, "-m", "spendcast", "train", "--model-dir", str(model_dir)],
        check=True,
        capture_output=True,
    )
    return model_dir


@pytest.fixture(scope="session")
def serving_only_venv() -> Path:
    """``pip install <repo>``, no extras: the memory benchmark's own install
    (``bench/serving_only.py``, in ``runs/bench/``), built unless built from the same source."""
    from bench.serving_only import DEFAULT_VENV, build_venv

    return build_venv(TESTS.parent / DEFAULT_VENV)


@pytest.fixture
def workdir(tmp_path: Path, trained_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh directory for one server: its own SQLite file, log file, journal and copy of
    the trained model (``serve_from``)."""
    return serve_from(tmp_path, trained_model_dir, monkeypatch)


def require_tool(path_or_name: str) -> None:
    """Skip with a visible reason when a system tool is missing, but fail in CI."""

    if shutil.which(path_or_name) is None:
        message = f"{path_or_name} is not installed (apt-get install it, see .ci/run)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
