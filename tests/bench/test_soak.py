"""bench/soak.py's verdict on memory: RSS growth after the warm-up, from synthetic samples, and
the samples it is given (only resident processes)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bench.soak import RSS_GROWTH_LIMIT_PCT, rss_growth
from bench.soak_load import rss_now


def test_growth_is_measured_after_the_warm_up_on_medians() -> None:
    # Worker 1 grows during the warm-up only, then is flat (one noisy sample at the end);
    # worker 2 keeps growing after it: a leak.
    samples = [
        (0.0, {1: 100.0, 2: 100.0}),
        (10.0, {1: 150.0, 2: 120.0}),
        (20.0, {1: 200.0, 2: 200.0}),
        (30.0, {1: 201.0, 2: 204.0}),
        (40.0, {1: 200.0, 2: 208.0}),
        (50.0, {1: 200.0, 2: 212.0}),
        (60.0, {1: 201.0, 2: 216.0}),
        (70.0, {1: 260.0, 2: 220.0}),
    ]
    growth = rss_growth(samples, warmup_seconds=20.0)
    assert growth[1] == {"start": 100.0, "after_warmup": 200.0, "end": 201.0, "growth_pct": 0.5}
    assert growth[2] == {"start": 100.0, "after_warmup": 204.0, "end": 216.0, "growth_pct": 5.88}
    assert growth[1]["growth_pct"] < RSS_GROWTH_LIMIT_PCT <= growth[2]["growth_pct"]


def test_a_worker_that_vanished_is_measured_over_its_own_samples() -> None:
    samples = [(0.0, {1: 50.0, 2: 80.0}), (5.0, {1: 50.0}), (10.0, {1: 51.0})]
    growth = rss_growth(samples, warmup_seconds=100.0)  # every sample is in the warm-up
    assert growth[2] == {"start": 80.0, "after_warmup": 80.0, "end": 80.0, "growth_pct": 0.0}
    assert growth[1]["end"] == 51.0


def test_a_zombie_or_vanished_pid_is_missing_from_an_rss_sample() -> None:
    # A child that exited and is not reaped yet has no VmRSS: a 0 there once made the soak's
    # growth a division by zero (a short-lived process sampled as it ended).
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    status = Path(f"/proc/{zombie.pid}/status")
    deadline = time.monotonic() + 30
    while "\nState:\tZ" not in status.read_text():
        assert time.monotonic() < deadline, "the child never became a zombie"
        time.sleep(0.01)
    gone = zombie.pid  # reaped below: no such process any more
    sample = rss_now([os.getpid(), zombie.pid])
    zombie.wait()
    assert list(sample) == [os.getpid()]
    assert sample[os.getpid()] > 1.0  # MiB: this interpreter is resident
    assert rss_now([gone]) == {}
