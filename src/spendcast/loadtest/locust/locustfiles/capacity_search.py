"""The locustfile ``spendcast capacity`` hands to Locust: scenarios, open-model users, the shape.

It sits in the locustfiles folder because Locust puts a locustfile's folder first on ``sys.path``.
"""

from spendcast.loadtest.locust import hooks
from spendcast.loadtest.locust.arrival import (
    OpenBatchPredictUser,
    OpenHealthUser,
    OpenMixedUser,
    OpenPredictUser,
)
from spendcast.loadtest.locust.scenarios import BatchPredictUser, HealthUser, MixedUser, PredictUser
from spendcast.loadtest.locust.shapes import CapacityShape

hooks.register()

__all__ = [
    "BatchPredictUser",
    "CapacityShape",
    "HealthUser",
    "MixedUser",
    "OpenBatchPredictUser",
    "OpenHealthUser",
    "OpenMixedUser",
    "OpenPredictUser",
    "PredictUser",
]
