"""``spendcast capacity`` through HAProxy, distributed: a master and two workers on hosts of
their own, against 1 then 2 replicas of known capacity.

Each replica is ``tests/support/fixed_service_app.py``: one uvicorn worker serving one request
at a time in ``SERVICE_MS`` (at most 1000 / 50 = 20 req/s), so what the search finds is a count
of replicas times that, less the network's and HTTP's overhead; a 2-core test machine shared
with other tests cannot make one replica serve 1.5 times its capacity. The latency SLO is
loose on purpose: the knee is where throughput stops growing, not a latency a busy machine
could breach.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import require_tool
from tests.multihost.balancer import (
    API_PORT,
    MASTER_PORT,
    REPLICAS,
    balancer_url,
    start_balancer,
    wait_backends,
)
from tests.multihost.topology import Topology, topology
from tests.reliability.support import wait_until
from tests.support.fixed_service import APP, REPO, environment

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

SERVICE_MS = 50
REPLICA_CAPACITY = 1000 / SERVICE_MS


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Topology]:
    require_tool("haproxy")
    with topology(*REPLICAS, "lb", "master", "w1", "w2") as built:
        start_balancer(built, tmp_path)
        yield built


def own_environment() -> dict[str, str]:
    """This machine's environment less spendcast's settings (none leaks into a run)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SPENDCAST_")}


def start_replica(net: Topology, name: str, workdir: Path) -> None:
    host = net.hosts[name]
    host.start(
        [sys.executable, "-m", "uvicorn", APP, "--host", host.address, "--port", str(API_PORT),
         "--log-level", "warning"],
        env={**own_environment(), **environment(SERVICE_MS)},
        cwd=REPO, log=workdir / f"{name}.log",
    )  # fmt: skip

    def ready() -> bool:
        try:
            url = f"http://{host.address}:{API_PORT}/ready"
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(ready, 60, f"{name} ready")


def distributed_capacity(net: Topology, workdir: Path, out: Path) -> dict[str, Any]:
    """The real ``spendcast capacity --master`` and two ``spendcast loadtest --worker``, each
    on its own host; ``capacity.json`` once both workers ended with 0 and the master with 0
    (docs/capacity.md: a load that holds was found)."""
    master = net.hosts["master"]
    command = [
        sys.executable, "-m", "spendcast", "capacity", "--host", balancer_url(net),
        "--mode", "users", "--slo", "p99<2s", "--slo", "errors<1%", "--window", "1s",
        "--stable-windows", "3", "--max-step-time", "20s", "--bisect", "0",
        "--knee-sample", "0", "--out", str(out), "--quiet", "--no-history",
        "--master", "--master-bind-host", master.address,
        "--master-bind-port", str(MASTER_PORT), "--expect-workers", "2",
        "--expect-workers-max-wait", "120",
    ]  # fmt: skip
    env = own_environment()
    log = workdir / f"{out.name}-master.log"
    runner = master.start(command, env=env, cwd=workdir, log=log)
    workers = [
        net.hosts[name].start(
            [sys.executable, "-m", "spendcast", "loadtest", "--worker",
             "--master-host", master.address, "--master-port", str(MASTER_PORT)],
            env=env, cwd=workdir, log=workdir / f"{out.name}-{name}.log",
        )
        for name in ("w1", "w2")
    ]  # fmt: skip
    assert runner.wait(400) == 0, log.read_text()[-3000:]
    assert [worker.wait(60) for worker in workers] == [0, 0]
    data: dict[str, Any] = json.loads((out / "capacity.json").read_text())
    return data


def test_two_replicas_behind_the_balancer_hold_about_twice_what_one_holds(
    net: Topology, tmp_path: Path
) -> None:
    start_replica(net, "api1", tmp_path)
    wait_backends(net, api1="UP", api2="DOWN")
    one = distributed_capacity(net, tmp_path, tmp_path / "one")
    start_replica(net, "api2", tmp_path)
    wait_backends(net, api1="UP", api2="UP")
    two = distributed_capacity(net, tmp_path, tmp_path / "two")

    one_rps, two_rps = one["best"]["figures"]["rps"], two["best"]["figures"]["rps"]
    print(f"capacity through HAProxy: 1 replica {one_rps} req/s, 2 replicas {two_rps} req/s")
    # Both searches ended where throughput stopped growing, every request answered.
    for found in (one, two):
        assert found["steps"][-1]["verdict"] == "flat", found["answer"]
        assert all(step["figures"]["failures"] == 0 for step in found["steps"])
    assert one_rps <= REPLICA_CAPACITY * 1.05
    assert two_rps <= 2 * REPLICA_CAPACITY * 1.05
    assert two_rps >= 1.5 * one_rps, (one["answer"], two["answer"])
    # One user keeps one replica busy: the second replica's share needs a second user.
    assert max(s["load"] for s in two["steps"]) > max(s["load"] for s in one["steps"])


def test_capacity_refuses_the_rate_mode_on_a_master() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "spendcast", "capacity", "--host", "http://127.0.0.1:9",
         "--mode", "rate", "--master"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].endswith("(--mode users)")
    assert "Traceback" not in done.stderr
