"""Inference ids: from a generator of their own, unique within a process, across forked
workers and across restarts, whatever re-seeds the global ``random``."""

from __future__ import annotations

import multiprocessing
import random
import subprocess
import sys

from spendcast.monitoring.inference import Inference, new_id


def _ids(count: int) -> list[str]:
    random.seed(0)  # what a library in the worker might do
    return [new_id() for _ in range(count)]


def test_ids_look_like_uuid_hex_and_never_repeat_in_a_process() -> None:
    ids = []
    for _ in range(100):
        random.seed(0)
        ids.append(Inference("PhD", 1, 2.0, 3.0, "v").id)
    ids += [new_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


def test_forked_workers_and_restarts_draw_different_ids() -> None:
    fork = multiprocessing.get_context("fork")
    with fork.Pool(2) as pool:
        children = pool.map(_ids, [1000, 1000])
    restarts = [
        subprocess.run(
            [sys.executable, "-c", "from spendcast.monitoring.inference import new_id as n; "
             "import random; random.seed(0); print(n())"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        for _ in range(2)
    ]  # fmt: skip
    everything = [*_ids(1000), *children[0], *children[1], *restarts]
    assert len(set(everything)) == len(everything) == 3002
