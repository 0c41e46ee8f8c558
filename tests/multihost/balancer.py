"""HAProxy (``deploy/haproxy.cfg``) on the topology's ``lb`` host, in front of the replicas
``api1`` and ``api2`` (each on its own host, port ``API_PORT``), and its view of them.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import httpx

from tests.multihost.topology import Topology
from tests.reliability.support import wait_until

ROOT = Path(__file__).resolve().parents[2]
HAPROXY_CONFIG = ROOT / "deploy" / "haproxy.cfg"
API_PORT, LB_PORT, STATS_PORT, MASTER_PORT = 8000, 8080, 8404, 5557
REPLICAS = ("api1", "api2")


def balancer_url(net: Topology) -> str:
    return f"http://{net.hosts['lb'].address}:{LB_PORT}"


def start_balancer(net: Topology, workdir: Path) -> None:
    lb = net.hosts["lb"]
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin"),
        "SPENDCAST_LB_BIND": f"{lb.address}:{LB_PORT}",
        "SPENDCAST_LB_STATS": f"{lb.address}:{STATS_PORT}",
        **{f"SPENDCAST_API_{n}": f"{net.hosts[r].address}:{API_PORT}"
           for n, r in enumerate(REPLICAS, start=1)},
    }  # fmt: skip
    lb.start(
        ["haproxy", "-db", "-f", str(HAPROXY_CONFIG)],
        env=env, cwd=workdir, log=workdir / "haproxy.log",
    )  # fmt: skip


def backends(net: Topology) -> dict[str, str]:
    """Each replica's state as HAProxy sees it (``UP``, ``DOWN``, ...), from its stats."""
    url = f"http://{net.hosts['lb'].address}:{STATS_PORT}/stats;csv"
    try:
        text = httpx.get(url, timeout=2).text.lstrip("# ")
    except httpx.TransportError:
        return {}
    return {
        row["svname"]: row["status"]
        for row in csv.DictReader(io.StringIO(text))
        if row["pxname"] == "api" and row["svname"] in REPLICAS
    }


def wait_backends(net: Topology, **expected: str) -> None:
    def seen() -> bool:
        states = backends(net)
        return all(states.get(name, "").startswith(want) for name, want in expected.items())

    wait_until(seen, 60, f"HAProxy sees {expected}")
