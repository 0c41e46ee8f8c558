"""deploy/compose.yaml up and down for real with podman-compose (Debian's), every image built
here (``conftest.py``): two API replicas, PostgreSQL, HAProxy and Prometheus.

Grafana is left out: Debian does not package it and no image registry is reachable, so its
image cannot be had here (it sits under the compose profile ``grafana``; podman-compose 1.0
knows no profiles, so the services are named). Needs what ``test_images.py`` needs, and
podman-compose.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from spendcast.api.responses import MODEL_VERSION_HEADER
from tests.conftest import require_tool
from tests.containers.base_image import ROOT, Images, podman
from tests.distributed.support import endpoint, summary
from tests.reliability.support import wait_until
from tests.support.server import free_port

# A test may wait for the images (conftest.py), built by another xdist worker meanwhile.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

COMPOSE_FILE = ROOT / "deploy" / "compose.yaml"
STARTED = ("postgres", "api1", "api2", "haproxy", "prometheus")


@dataclass
class Stack:
    project: str
    env: dict[str, str]
    lb_port: int
    prometheus_port: int

    @property
    def lb_url(self) -> str:
        return f"http://127.0.0.1:{self.lb_port}"

    def compose(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["podman-compose", "-p", self.project, "-f", str(COMPOSE_FILE), *args],
            env=self.env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip

    def containers(self) -> list[str]:
        listed = podman("ps", "-a", "--filter", f"label=io.podman.compose.project={self.project}",
                        "--format", "{{.Names}}")  # fmt: skip
        return listed.stdout.split()

    def sql(self, query: str) -> str:
        done = podman("exec", f"{self.project}_postgres_1", "psql", "-U", "spendcast",
                      "-d", "spendcast", "-tAc", query)  # fmt: skip
        return done.stdout.strip()


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def stack(images: Images, service_images: dict[str, str]) -> Iterator[Stack]:
    require_tool("podman-compose")
    ports = {name: free_port() for name in ("LB", "LB_STATS", "PROMETHEUS")}
    env = {
        **os.environ,
        "SPENDCAST_API_IMAGE": images.api,
        **{f"SPENDCAST_{name.upper()}_IMAGE": tag for name, tag in service_images.items()},
        **{f"SPENDCAST_{name}_PORT": str(port) for name, port in ports.items()},
    }
    running = Stack(f"spendcast{ports['LB']}", env, ports["LB"], ports["PROMETHEUS"])
    try:
        yield running
    finally:
        running.compose("down", "-t", "5")
        for name in running.containers():
            podman("rm", "-f", name, check=False)
        podman("network", "rm", "-f", f"{running.project}_default", check=False)


def test_compose_up_serves_records_scrapes_and_down_leaves_nothing(
    images: Images, stack: Stack, tmp_path: Path
) -> None:
    up = stack.compose("up", "-d", "--no-build", *STARTED)
    assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-2000:]
    # Each replica trains into the store or finds the model there, then serves; HAProxy
    # sends traffic once /ready answers.
    wait_until(lambda: answers(f"{stack.lb_url}/ready"), 300, "/ready through HAProxy")

    answer = httpx.get(f"{stack.lb_url}/predict?education=PhD&age=42&income=123456.5")
    assert answer.status_code == 200, answer.text
    assert len(answer.headers[MODEL_VERSION_HEADER]) == 12
    wait_until(
        lambda: stack.sql("SELECT count(*) FROM inference_log WHERE income = 123456.5") == "1",
        60, "the prediction's row in PostgreSQL",
    )  # fmt: skip

    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o777)  # the kit runs as its own user
    run = podman(
        "run", "--rm", "--network", "host", "-v", f"{out}:/out:Z", images.kit,
        "loadtest", "--host", stack.lb_url, "--scenario", "predict", "--users", "2",
        "--duration", "3s", "--out", "/out/run", "--quiet", "--slo", "errors<=0%",
        check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    sent = endpoint(summary(out / "run"), "GET", "/predict")["requests"]
    assert sent > 0
    # Every prediction answered 200 through the balancer is one row.
    wait_until(
        lambda: stack.sql("SELECT count(*) FROM inference_log") == str(sent + 1),
        60, f"{sent + 1} rows in PostgreSQL",
    )  # fmt: skip

    def both_replicas_up() -> bool:
        try:
            url = f"http://127.0.0.1:{stack.prometheus_port}/api/v1/targets"
            targets = httpx.get(url, timeout=2).json()["data"]["activeTargets"]
        except (httpx.TransportError, ValueError, KeyError):
            return False
        health = {t["labels"]["instance"]: t["health"] for t in targets}
        return health == {"api1:8000": "up", "api2:8000": "up"}

    wait_until(both_replicas_up, 120, "Prometheus scraping both replicas")

    down = stack.compose("down", "-t", "5")
    assert down.returncode == 0, down.stdout[-2000:] + down.stderr[-2000:]
    assert stack.containers() == []
    assert not answers(f"{stack.lb_url}/ready")
