"""prometheus-client's multiprocess file names, which spendcast.api.metrics reads to forget the
live gauges of workers that died without cleaning up (bounded: prometheus-client<0.27).

prometheus-client picks its multiprocess mode when it is imported, so this runs in a child
Python started with ``PROMETHEUS_MULTIPROC_DIR``; that child starts a worker that sets a live
gauge and exits without ``mark_process_dead``, as a killed worker would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

CHECK = textwrap.dedent(
    """
    import json, os, subprocess, sys
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    worker = (
        "import os; from prometheus_client import Gauge; "
        "Gauge('spendcast_probe', 'probe', multiprocess_mode='livesum').set(7); print(os.getpid())"
    )
    pid = int(subprocess.run([sys.executable, "-c", worker], capture_output=True, text=True,
                             check=True).stdout)
    before = sorted(os.listdir(directory))
    from spendcast.api.metrics import Metrics
    text = Metrics().render().decode()
    print(json.dumps({"pid": pid, "before": before, "after": sorted(os.listdir(directory)),
                      "text": text}))
    """
)


def test_a_dead_worker_live_gauge_file_is_found_by_name_and_forgotten(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    child = subprocess.run(
        [sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, timeout=120
    )
    assert child.returncode == 0, child.stderr
    seen = json.loads(child.stdout)
    name = f"gauge_livesum_{seen['pid']}.db"
    assert name in seen["before"], (
        "prometheus-client renamed its multiprocess files: spendcast.api.metrics looks for "
        f"gauge_live*_<pid>.db, the dead worker wrote {seen['before']}"
    )
    assert name not in seen["after"], (
        "prometheus-client's mark_process_dead no longer removes gauge_livesum_<pid>.db"
    )
    assert "spendcast_probe" not in seen["text"]
