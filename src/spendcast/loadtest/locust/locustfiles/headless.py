"""The locustfile ``spendcast loadtest`` hands to Locust: the scenarios plus the recording hooks.

It sits alone in its folder because Locust puts a locustfile's folder first on ``sys.path``.
"""

from spendcast.loadtest.locust import hooks
from spendcast.loadtest.locust.scenarios import BatchPredictUser, HealthUser, MixedUser, PredictUser

hooks.register()

__all__ = ["BatchPredictUser", "HealthUser", "MixedUser", "PredictUser"]
