"""spendcast across separate network hosts (``topology.py``, ``cluster.py``): two replicas
behind HAProxy, one PostgreSQL for the inference log and the model store, a Locust master and
two workers on hosts of their own. Each test keeps its load to a few seconds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from spendcast.monitoring import read_rows
from tests.conftest import require_tool
from tests.distributed.support import (
    dumps,
    endpoint,
    rounded_stats,
    same_percentiles,
    summary,
    union,
)
from tests.multihost.balancer import MASTER_PORT, REPLICAS
from tests.multihost.cluster import TOKEN, Cluster, cluster, elapsed_until
from tests.reliability.support import Load, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture
def deployment(tmp_path: Path, postgres_url: str) -> Iterator[Cluster]:
    require_tool("haproxy")
    with cluster(tmp_path, postgres_url) as running:
        yield running


def rows_by_income(cluster: Cluster) -> dict[float, list[str]]:
    """The model version of each row, by the request's income (distinct per request)."""
    found: dict[float, list[str]] = {}
    for row in read_rows(cluster.direct_url):
        found.setdefault(row["income"], []).append(row["model_version"])
    return found


def test_a_distributed_load_through_the_balancer_is_counted_exactly(
    deployment: Cluster,
) -> None:
    out, dump_dir = deployment.workdir / "run", deployment.workdir / "dumps"
    master, env = deployment.host("master"), deployment.env()
    runner = master.spendcast(
        "loadtest", "--master", "--master-bind-host", master.address,
        "--master-bind-port", str(MASTER_PORT), "--expect-workers", "2",
        "--expect-workers-max-wait", "120", "--host", deployment.lb_url,
        "--scenario", "predict", "--users", "4", "--duration", "4s", "--out", str(out),
        "--quiet", "--slo", "errors<=0%",
        env=env, cwd=deployment.workdir, log=deployment.workdir / "master.log",
    )  # fmt: skip
    workers = [
        deployment.host(name).spendcast(
            "loadtest", "--worker", "--master-host", master.address,
            "--master-port", str(MASTER_PORT), "--worker-dump", str(dump_dir),
            env=env, cwd=deployment.workdir, log=deployment.workdir / f"{name}.log",
        )
        for name in ("w1", "w2")
    ]  # fmt: skip
    assert runner.wait(240) == 0, (deployment.workdir / "master.log").read_text()[-3000:]
    assert [worker.wait(60) for worker in workers] == [0, 0]
    for name in REPLICAS:
        assert deployment.stop_replica(name) == 0  # flushes every row

    result = summary(out)
    assert result["config"]["workers"] == 2
    assert result["failures"] == 0
    recorded = union(dumps(dump_dir))
    predictions = recorded[("GET", "/predict")]
    assert predictions.requests == endpoint(result, "GET", "/predict")["requests"] > 0
    assert endpoint(result, "GET", "/predict")["latency_ms"] == rounded_stats(predictions.histogram)
    from spendcast.loadtest.shared.recording_file import read_recording

    master_tally = read_recording(out / "recording.json").endpoints[("GET", "/predict")]
    assert same_percentiles(master_tally.histogram, predictions.histogram)
    # Every 200 counted by the master is one row; both replicas answered a share.
    assert len(read_rows(deployment.direct_url)) == predictions.requests
    shares = [deployment.served(name) for name in REPLICAS]
    assert sum(shares) == predictions.requests
    assert min(shares) > 0, shares


def test_a_train_through_the_balancer_reaches_every_replica(deployment: Cluster) -> None:
    first = httpx.get(f"{deployment.url('api1')}/ready").json()["model_version"]
    with Load(deployment.lb_url, threads=4, token=TOKEN) as load:
        load.wait_for(100)
        answer = httpx.post(
            f"{deployment.lb_url}/train",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=120,
        )
        assert answer.status_code == 200, answer.text
        new = answer.json()["version"]
        assert new != first

        def everywhere() -> bool:
            return all(
                httpx.get(f"{deployment.url(name)}/ready").json()["model_version"] == new
                for name in REPLICAS
            )

        seconds = elapsed_until(everywhere, 60, f"model {new} on every replica")
        print(f"POST /train to every replica: {seconds:.2f} s")  # docs/deployment.md
        load.wait_for(100)
    for name in REPLICAS:
        assert deployment.stop_replica(name) == 0

    assert set(load.versions.values()) == {first, new}
    rows = rows_by_income(deployment)
    # Each 200 is one row, labelled with the version named in its answer.
    assert {income: [version] for income, version in load.versions.items()} == {
        income: versions for income, versions in rows.items() if income in load.versions
    }
    assert set(rows) - set(load.versions) <= set(load.failed)


def test_a_replica_killed_under_load_is_drained_and_rejoins(deployment: Cluster) -> None:
    threads = 4
    with Load(deployment.lb_url, threads=threads, token=TOKEN) as load:
        load.wait_for(200)
        deployment.kill_replica("api2")
        deployment.wait_backends(api2="DOWN")
        failed_at_drain = len(load.failed)
        load.wait_for(200)  # all on api1 now
        assert len(load.failed) == failed_at_drain  # nothing sent to the dead replica
        before = deployment.served("api2")
        deployment.start_replica("api2")  # same journal: its unwritten rows are replayed
        deployment.wait_backends(api2="UP")
        wait_until(lambda: deployment.served("api2") > before, 60, "api2 serving again")
        load.wait_for(100)
    for name in REPLICAS:
        assert deployment.stop_replica(name) == 0

    rows = rows_by_income(deployment)
    counts = Counter(income for income, versions in rows.items() for _ in versions)
    assert [income for income, n in counts.items() if n > 1] == []
    assert set(load.ok) <= set(rows)  # no 200 lost
    assert set(rows) - set(load.ok) <= set(load.failed)  # extra rows: only requests cut
    # Failures: only what the killed replica held in flight, one request per client at most.
    assert len(load.failed) <= threads, load.statuses
