"""The server found and watched: a local one's processes, a remote one's ``process_*`` metrics."""

from __future__ import annotations

import sys
import time

from spendcast.loadtest.diagnosis.metrics import scrape
from spendcast.loadtest.diagnosis.watcher import Watcher, find_server
from spendcast.loadtest.run.server_process import started_server
from tests.support.bottleneck import bottleneck_server


def test_a_local_server_is_found_from_its_port_and_its_process_read() -> None:
    with bottleneck_server("fast") as server:
        target = find_server(server.url)
        assert target.pids == (server.process.pid,)
        assert (target.source, target.python) == ("processes", True)
        with Watcher(target) as watcher:
            time.sleep(1.6)
        uses, _, machine = watcher.between(0, time.time() + 1)
    assert uses is not None
    (use,) = uses
    assert use.pid == server.process.pid
    assert use.threads is not None
    assert use.threads >= 1
    assert use.rss_mb is not None
    assert use.rss_mb > 1
    assert use.fds is not None
    assert use.fds >= 3
    assert machine is not None
    assert machine >= 0


def test_a_servers_process_metrics_are_read_when_it_is_not_local() -> None:
    # prometheus_client's own exporter: the standard process_* metrics of its process.
    exporter = [sys.executable, "-c", "import sys, time; from prometheus_client import "
                "start_http_server; start_http_server(int(sys.argv[1])); time.sleep(300)",
                "{port}"]  # fmt: skip
    with started_server(exporter, ready_path="/metrics") as server:
        url = server.url + "/metrics"
        target = find_server(server.url, metrics_url=url)  # as for a host on another machine
        assert (target.source, target.pids, target.metrics_url) == ("metrics", (), url)
        snapshots = scrape(url)
        with Watcher(target) as watcher:
            time.sleep(1.6)
        server_uses, _, _ = watcher.between(0, time.time() + 1)
    assert snapshots is not None
    assert snapshots[0].user_s > 0
    assert snapshots[0].rss_bytes > 2**20
    assert snapshots[0].fds is not None
    assert snapshots[0].fds >= 3
    assert server_uses is not None
    assert [u.name for u in server_uses] == ["metrics"]


def test_nothing_listening_and_no_metrics_is_not_observable() -> None:
    with bottleneck_server("fast") as server:
        port = server.port
    target = find_server(f"http://127.0.0.1:{port}")
    assert target.source == "not observable"
