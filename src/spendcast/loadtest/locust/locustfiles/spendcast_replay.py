"""The users of ``--replay``: ``ReplayUser`` sends the recorded requests again; no shape."""

from spendcast.loadtest.locust import replay
from spendcast.loadtest.locust.replay import ReplayUser

replay.register()

__all__ = ["ReplayUser"]
