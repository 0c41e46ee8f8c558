"""The deployment of docs/deployment.md on a ``Topology``: two API replicas on two hosts,
HAProxy (``deploy/haproxy.cfg``) on a third, PostgreSQL (inference log and model store) on the
root namespace's address, and hosts for a Locust master and two workers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from tests.multihost.balancer import (
    API_PORT,
    REPLICAS,
    balancer_url,
    start_balancer,
    wait_backends,
)
from tests.multihost.topology import Host, Topology, kill_tree, topology
from tests.reliability.support import wait_until
from tests.support.postgres import TcpProxy

TOKEN = "multihost-e2e-token-51c2"
HOSTS = (*REPLICAS, "lb", "master", "w1", "w2")


@dataclass
class Cluster:
    net: Topology
    workdir: Path
    database_url: str  # through the relay on the bridge: what the replicas use
    direct_url: str  # the same database on loopback: what the test reads
    replicas: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def host(self, name: str) -> Host:
        return self.net.hosts[name]

    def url(self, name: str) -> str:
        return f"http://{self.host(name).address}:{API_PORT}"

    @property
    def lb_url(self) -> str:
        return balancer_url(self.net)

    def replica_dir(self, name: str) -> Path:
        path = self.workdir / name
        path.mkdir(exist_ok=True)
        return path

    def env(self) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("SPENDCAST_")}
        return {
            **inherited,
            "SPENDCAST_DATABASE_URL": self.database_url,
            "SPENDCAST_MODEL_STORE": self.database_url,
            "SPENDCAST_MODEL_POLL_SECONDS": "0.5",
            "SPENDCAST_API_TOKEN": TOKEN,
        }

    def start_replica(self, name: str) -> None:
        """``spendcast serve`` on the replica's host, in its own directory (journal, log,
        local copies of the models), until its ``/ready`` answers."""
        directory = self.replica_dir(name)
        process = self.host(name).spendcast(
            "serve", "--host", self.host(name).address, "--port", str(API_PORT),
            "--model-dir", str(directory / "models"),
            env={**self.env(), "SPENDCAST_JOURNAL_DIR": str(directory / "journal")},
            cwd=directory, log=directory / "serve.log",
        )  # fmt: skip
        self.replicas[name] = process

        def answers() -> bool:
            if process.poll() is not None:
                log = (directory / "serve.log").read_text()[-2000:]
                raise AssertionError(f"replica {name} exited {process.returncode}: {log}")
            try:
                return httpx.get(f"{self.url(name)}/ready", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(answers, 300, f"{name} ready")

    def stop_replica(self, name: str) -> int:
        """SIGTERM: the replica flushes its rows and exits."""
        process = self.replicas[name]
        process.send_signal(signal.SIGTERM)
        return process.wait(60)

    def kill_replica(self, name: str) -> None:
        kill_tree(self.replicas[name])

    def start_balancer(self) -> None:
        start_balancer(self.net, self.workdir)

    def wait_backends(self, **expected: str) -> None:
        wait_backends(self.net, **expected)

    def served(self, name: str) -> int:
        """Predictions answered 200 by one replica, from its API log file."""
        log = self.replica_dir(name) / "api_logfile.log"
        if not log.exists():
            return 0
        return sum(" /predict" in line and " 200 " in line for line in log.read_text().splitlines())


def _train(direct_url: str, workdir: Path) -> None:
    """The real ``spendcast train --store``, into the database every replica reads."""
    subprocess.run(
        [sys.executable, "-m", "spendcast", "train", "--store", direct_url,
         "--model-dir", str(workdir / "trainer")],
        check=True, capture_output=True,
    )  # fmt: skip


@contextmanager
def cluster(workdir: Path, postgres_url: str, *, replicas: int = 2) -> Iterator[Cluster]:
    """The deployment, a model trained into its store, ``replicas`` replicas and the balancer
    started (both replicas seen UP when there are two)."""
    with topology(*HOSTS) as net:
        direct = make_url(postgres_url)
        relay = TcpProxy((direct.host or "127.0.0.1", direct.port or 5432), host=net.gateway)
        through = direct.set(host=net.gateway, port=relay.port)
        deployment = Cluster(
            net, workdir, through.render_as_string(hide_password=False), postgres_url
        )
        try:
            _train(postgres_url, workdir)
            for name in REPLICAS[:replicas]:
                deployment.start_replica(name)
            deployment.start_balancer()
            deployment.wait_backends(**dict.fromkeys(REPLICAS[:replicas], "UP"))
            yield deployment
        finally:
            relay.close()


def elapsed_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until ``condition()`` holds (a measured figure, never asserted)."""
    start = time.monotonic()
    wait_until(condition, timeout, what)
    return time.monotonic() - start
