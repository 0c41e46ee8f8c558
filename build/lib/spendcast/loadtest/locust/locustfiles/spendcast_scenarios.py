"""The kit's own users (``--scenario``), closed or open; no hook and no shape.

``spendcast`` always names the user class it runs (``contract.SCENARIO_USERS``) and appends
``spendcast_recording.py``, which records them as it records any user; for ``--rate``/``--stages``
(and capacity's rate mode) ``arrival`` puts the chosen class on the open-model timetable.
"""

from spendcast.loadtest.locust.scenarios import BatchPredictUser, HealthUser, MixedUser, PredictUser

__all__ = ["BatchPredictUser", "HealthUser", "MixedUser", "PredictUser"]
