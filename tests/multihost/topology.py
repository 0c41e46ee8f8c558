"""Separate network hosts on one machine: a network namespace per host, wired by veth pairs
to one bridge, each with its own address (``ip netns``, root only).

The root namespace holds the bridge's address, ``.1``: the "database host". PostgreSQL
listens on 127.0.0.1 only here and restarting it to listen on the bridge would cut every
other test's connections, so a relay on ``.1:<port>`` forwards to it
(``tests.support.postgres.TcpProxy``): a replica's connections still cross the virtual
network. Every process a host starts runs inside its namespace (``ip netns exec``) and is
killed, with its children, when the topology is torn down.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from tests.conftest import IN_CI

PREFIX_LENGTH = 24


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def _cannot_build() -> str | None:
    """Why this machine cannot build namespaces, or None."""
    if shutil.which("ip") is None:
        return "ip (iproute2) is not installed"
    if os.geteuid() != 0:
        return "network namespaces need root"
    probe = f"scprobe{secrets.token_hex(3)}"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return None


def require_namespaces() -> None:
    """Skip with the reason where namespaces cannot be made; fail under CI=true."""
    problem = _cannot_build()
    if problem is not None:
        if IN_CI:
            pytest.fail(problem)
        pytest.skip(problem)


@dataclass
class Host:
    """One machine of the topology: a namespace and an address."""

    name: str
    namespace: str
    address: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(
        self, args: list[str], *, env: Mapping[str, str], cwd: Path, log: Path
    ) -> subprocess.Popen[bytes]:
        """``args`` running on this host, output appended to ``log``."""
        with log.open("ab") as output:
            process = subprocess.Popen(
                ["ip", "netns", "exec", self.namespace, *args],
                env=dict(env),
                cwd=cwd,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        return process

    def spendcast(
        self, *args: str, env: Mapping[str, str], cwd: Path, log: Path
    ) -> subprocess.Popen[bytes]:
        return self.start([sys.executable, "-m", "spendcast", *args], env=env, cwd=cwd, log=log)


class Topology:
    """A bridge and the hosts plugged into it; ``gateway`` is the root namespace's address."""

    def __init__(self) -> None:
        self.tag = secrets.token_hex(2)
        self.bridge = f"scbr{self.tag}"
        self.subnet = f"10.{77 + int(self.tag[:1], 16)}.{int(self.tag[1:], 16) % 250 + 1}"
        self.gateway = f"{self.subnet}.1"
        self.hosts: dict[str, Host] = {}

    def build(self) -> None:
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.gateway}/{PREFIX_LENGTH}", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")

    def add(self, name: str) -> Host:
        number = len(self.hosts) + 10
        namespace = f"sc{self.tag}-{name}"
        outside, inside = f"sc{self.tag}v{number}", f"sc{self.tag}p{number}"
        address = f"{self.subnet}.{number}"
        _ip("netns", "add", namespace)
        _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        _ip("link", "set", inside, "netns", namespace)
        _ip("link", "set", outside, "master", self.bridge)
        _ip("link", "set", outside, "up")
        for args in (
            ("addr", "add", f"{address}/{PREFIX_LENGTH}", "dev", inside),
            ("link", "set", inside, "up"),
            ("link", "set", "lo", "up"),
        ):
            _ip("-n", namespace, *args)
        host = self.hosts[name] = Host(name, namespace, address)
        return host

    def teardown(self) -> None:
        for host in self.hosts.values():
            for process in host.processes:
                kill_tree(process)
            _ip("netns", "del", host.namespace, check=False)
        _ip("link", "del", self.bridge, check=False)


def kill_tree(process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    """``process`` (``ip netns exec`` execs the command: the same pid) and its descendants."""
    with suppress(psutil.Error):
        for child in psutil.Process(process.pid).children(recursive=True):
            with suppress(psutil.Error):
                child.send_signal(sig)
    if process.poll() is None:
        process.send_signal(sig)
    with suppress(subprocess.TimeoutExpired):
        process.wait(30)


@contextmanager
def topology(*names: str) -> Iterator[Topology]:
    """A bridge with one host per name, torn down on exit (processes, namespaces, links)."""
    require_namespaces()
    net = Topology()
    try:
        net.build()
        for name in names:
            net.add(name)
        yield net
    finally:
        net.teardown()
