"""A new run against the blessed baseline of its key, judged as ``compare`` judges two runs.

The baseline's summary comes from the store (its directory may be gone, or hold a newer run:
a CI job keeps only the store, and rewrites its run directory), the candidate's from its
directory; ``compare.pairs.compare_summaries`` does the rest, so the verdict is the one
``spendcast compare BASELINE_DIR RUN_DIR`` gives.
"""

from __future__ import annotations

from pathlib import Path

from spendcast.loadtest.compare.pairs import Comparison, Side, compare_summaries
from spendcast.loadtest.compare.stats import THRESHOLD
from spendcast.loadtest.history.append import directory_record
from spendcast.loadtest.history.record import RunRecord, document_uid
from spendcast.loadtest.history.store import HistoryStore
from spendcast.loadtest.shared.run_summary import Summary


class NoBaseline(LookupError):
    """No run is blessed for the run's key."""


def against_baseline(
    run_dir: Path, store: HistoryStore, *, threshold: float | None = None
) -> tuple[Comparison, RunRecord, RunRecord]:
    """``(comparison, baseline, run)``; ``NoBaseline`` when its key has none, ``ValueError``
    when ``run_dir`` is not a load test's directory; ``threshold``: compare's default."""
    run = directory_record(run_dir)
    if run.document != "run":
        raise ValueError(f"{run_dir} is a {run.document}, not a load test run: only load test "
                         "runs are compared with a baseline")  # fmt: skip
    base = store.baseline(run.key)
    if base is None:
        raise NoBaseline(f"no baseline blessed for key {run.short_key} ({run.scenario} on "
                         f"{run.host}): bless one with spendcast history bless RUN")  # fmt: skip
    base_dir = Path(base.run_dir)
    comparison = compare_summaries(
        Summary.from_json(base.summary), Summary.from_json(run.summary),
        Side(f"baseline #{base.id}",
             run_dirs=(base_dir,) if document_uid(base_dir) == base.uid else ()),
        Side(run_dir.resolve().name, run_dirs=(run_dir,)),
        threshold=THRESHOLD if threshold is None else threshold,
    )  # fmt: skip
    return comparison, base, run
