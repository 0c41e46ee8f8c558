"""The kit's own users, closed (``--scenario``) and open (capacity's rate mode); no hook.

``spendcast`` always names the user class it runs (``contract.SCENARIO_USERS``/``OPEN_USERS``)
and appends ``spendcast_recording.py``, which records them as it records any user.
"""

from spendcast.loadtest.locust.arrival import (
    OpenBatchPredictUser,
    OpenHealthUser,
    OpenMixedUser,
    OpenPredictUser,
)
from spendcast.loadtest.locust.scenarios import BatchPredictUser, HealthUser, MixedUser, PredictUser

__all__ = [
    "BatchPredictUser",
    "HealthUser",
    "MixedUser",
    "OpenBatchPredictUser",
    "OpenHealthUser",
    "OpenMixedUser",
    "OpenPredictUser",
    "PredictUser",
]
