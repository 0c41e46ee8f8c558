"""A remote server's own figures from its Prometheus ``/metrics``: the standard ``process_*``
metrics (``process_cpu_seconds_total``, ``process_resident_memory_bytes``,
``process_open_fds``), one series per process (a ``pid`` label when several export them)."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from spendcast.loadtest.diagnosis.processes import Snapshot

CPU = "process_cpu_seconds"
RSS = "process_resident_memory_bytes"
FDS = "process_open_fds"


def scrape(url: str, timeout: float = 2.0) -> list[Snapshot] | None:
    """One reading of ``url``'s ``process_*`` metrics as snapshots (CPU all counted as user
    time, which the metric does not split); ``None`` when it has none or does not answer."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            text = response.read().decode("utf-8", errors="replace")
    except (urllib.error.URLError, OSError, ValueError):
        return None
    values: dict[str, dict[str, float]] = {}
    try:
        for family in text_string_to_metric_families(text):
            if family.name not in (CPU, RSS, FDS):
                continue
            for sample in family.samples:
                if sample.name in (f"{CPU}_total", CPU, RSS, FDS):
                    key = sample.labels.get("pid", "0")
                    values.setdefault(key, {})[family.name] = float(sample.value)
    except ValueError:
        return None
    now = time.time()
    snapshots = [
        Snapshot(int(pid) if pid.isdigit() else 0, "metrics", now, found[CPU], 0.0, 0,
                 int(found.get(RSS, 0)), int(found[FDS]) if FDS in found else None, 0, 0)
        for pid, found in sorted(values.items()) if CPU in found
    ]  # fmt: skip
    return snapshots or None
