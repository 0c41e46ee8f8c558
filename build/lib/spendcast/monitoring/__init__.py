"""The inference log: every prediction the API answers becomes one row, off the request path."""

from spendcast.monitoring.database import count_rows, read_rows
from spendcast.monitoring.inference import Inference
from spendcast.monitoring.recorder import Recorder, RecorderStats

__all__ = ["Inference", "Recorder", "RecorderStats", "count_rows", "read_rows"]
