"""The history of runs: every run appended as it ends, keyed by what makes runs comparable.

``record_run(run_dir, kind)`` is the one call a command (or the web UI) makes when a run ends;
``HistoryStore`` lists, blesses and finds baselines; ``against_baseline`` compares a run with
the blessed run of its key. See docs/history.md.
"""

from spendcast.loadtest.history.append import import_run, record_run, store_url
from spendcast.loadtest.history.record import RunRecord
from spendcast.loadtest.history.store import HistoryStore

__all__ = ["HistoryStore", "RunRecord", "import_run", "record_run", "store_url"]
