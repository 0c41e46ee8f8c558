"""The figures of docs/deployment.md, measured on the test topology (root, haproxy, PostgreSQL):

    .venv/bin/python -m tests.multihost.measure [SECONDS] [USERS]

For 1 then 2 replicas behind HAProxy: a distributed load (a master, two workers, each on a
host of its own) through the balancer, its rps and percentiles; with 2, the time from a
``POST /train`` answered to every replica serving the new version.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_URL
from tests.distributed.support import summary
from tests.multihost.balancer import MASTER_PORT, REPLICAS
from tests.multihost.cluster import TOKEN, Cluster, cluster
from tests.reliability.support import wait_until


def distributed_run(deployment: Cluster, seconds: int, users: int) -> dict[str, float]:
    out = deployment.workdir / f"run-{time.monotonic_ns()}"
    master, env = deployment.host("master"), deployment.env()
    runner = master.spendcast(
        "loadtest", "--master", "--master-bind-host", master.address,
        "--master-bind-port", str(MASTER_PORT), "--expect-workers", "2",
        "--expect-workers-max-wait", "120", "--host", deployment.lb_url,
        "--scenario", "predict", "--users", str(users), "--duration", f"{seconds}s",
        "--out", str(out), "--quiet",
        env=env, cwd=deployment.workdir, log=deployment.workdir / "master.log",
    )  # fmt: skip
    workers = [
        deployment.host(name).spendcast(
            "loadtest", "--worker", "--master-host", master.address,
            "--master-port", str(MASTER_PORT),
            env=env, cwd=deployment.workdir, log=deployment.workdir / f"{name}.log",
        )
        for name in ("w1", "w2")
    ]  # fmt: skip
    runner.wait(seconds + 240)
    for worker in workers:
        worker.wait(60)
    result = summary(out)
    latency = result["latency_ms"]
    return {"rps": result["rps"], "p50": latency["p50"], "p99": latency["p99"]}


def train_reaches_all(deployment: Cluster) -> float:
    answer = httpx.post(
        f"{deployment.lb_url}/train", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120
    )
    new = answer.json()["version"]
    start = time.monotonic()
    wait_until(
        lambda: all(
            httpx.get(f"{deployment.url(name)}/ready").json()["model_version"] == new
            for name in REPLICAS
        ),
        120,
    )
    return time.monotonic() - start


def main(argv: list[str]) -> None:
    seconds = int(argv[0]) if argv else 10
    users = int(argv[1]) if len(argv) > 1 else 16
    database = f"spendcast_measure_{os.getpid()}"
    server = make_url(POSTGRES_URL)
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    url = server.set(database=database).render_as_string(hide_password=False)
    try:
        for replicas in (1, 2):
            with (
                tempfile.TemporaryDirectory() as workdir,
                cluster(Path(workdir), url, replicas=replicas) as deployment,
            ):
                figures = distributed_run(deployment, seconds, users)
                line = f"{replicas} replica(s): {figures}"
                if replicas == 2:
                    reached = train_reaches_all(deployment)
                    line += f"; POST /train on every replica after {reached:.2f} s"
                print(line, flush=True)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main(sys.argv[1:])
