"""Locust internals the kit's Locust side relies on (bounded in pyproject.toml: locust<2.48).

Locust monkey-patches the process that imports it (gevent), so the checks run in a child
Python; each prints whether its internal is still where spendcast.loadtest uses it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.support.server import free_port

CHECKS = textwrap.dedent(
    """
    import inspect, json, socket, sys
    from locust import runners, stats
    from locust.env import Environment

    def parameters(function):
        return inspect.signature(function).parameters

    results = {"STATE_MISSING": hasattr(runners, "STATE_MISSING")}
    master = Environment(user_classes=[]).create_master_runner("127.0.0.1", int(sys.argv[1]))
    try:
        master.clients["worker-1"] = runners.WorkerNode("worker-1")
        results["runner.clients"] = [
            (node.id, node.state != runners.STATE_MISSING) for node in master.clients.all
        ] == [("worker-1", True)]
        results["send_message(client_id=)"] = "client_id" in parameters(master.send_message)
    finally:
        master.quit()
    results["register_message(concurrent=)"] = "concurrent" in parameters(
        runners.WorkerRunner.register_message
    )
    results["runners.WORKER_REPORT_INTERVAL"] = isinstance(
        getattr(runners, "WORKER_REPORT_INTERVAL", None), (int, float)
    )
    results["stats.CSV_STATS_INTERVAL_SEC"] = isinstance(
        getattr(stats, "CSV_STATS_INTERVAL_SEC", None), (int, float)
    )
    from locust.argument_parser import LocustArgumentParser
    from locust.rpc import Message

    parser = LocustArgumentParser()
    parser.add_argument("--spendcast-probe", default="", env_var="SPENDCAST_PROBE_DIR")
    results["add_argument(env_var=)"] = parser.parse_args([]).spendcast_probe == "/from/env"
    message = Message("spendcast_final", {"rows": 1}, "worker-1")
    results["rpc.Message"] = (message.data, message.node_id) == ({"rows": 1}, "worker-1")
    print(json.dumps(results))
    """
)

USED_BY = {
    "STATE_MISSING": "locust.runners.STATE_MISSING (handoff.py skips missing workers)",
    "runner.clients": "MasterRunner.clients.all and WorkerNode.id/.state (handoff.py)",
    "register_message(concurrent=)": "register_message(..., concurrent=True) (handoff.py)",
    "send_message(client_id=)": "MasterRunner.send_message(..., client_id=) (handoff.py)",
    "runners.WORKER_REPORT_INTERVAL": "locust.runners.WORKER_REPORT_INTERVAL (progress_writer.py)",
    "stats.CSV_STATS_INTERVAL_SEC": "locust.stats.CSV_STATS_INTERVAL_SEC (stopping.py)",
    "add_argument(env_var=)": "the env_var= of a custom option's add_argument (options.py)",
    "rpc.Message": "locust.rpc.Message(type, data, node_id) .data/.node_id (handoff.py)",
}


@pytest.fixture(scope="module")
def results() -> dict[str, bool]:
    child = subprocess.run(
        [sys.executable, "-c", CHECKS, str(free_port())],
        env={**os.environ, "SPENDCAST_PROBE_DIR": "/from/env"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 0, f"Locust's internals could not be checked:\n{child.stderr}"
    checked: dict[str, bool] = json.loads(child.stdout.splitlines()[-1])
    return checked


@pytest.mark.parametrize("internal", list(USED_BY))
def test_locust_internal_is_still_there(results: dict[str, bool], internal: str) -> None:
    assert results[internal], f"Locust moved or changed {USED_BY[internal]}"
