"""The locustfile ``spendcast capacity`` hands to Locust: the scenarios and the capacity shape.

In rate mode the shape puts the scenario's users on the open-model timetable (``arrival``).
It sits in the locustfiles folder because Locust puts a locustfile's folder first on ``sys.path``.
"""

from spendcast.loadtest.locust import hooks
from spendcast.loadtest.locust.scenarios import BatchPredictUser, HealthUser, MixedUser, PredictUser
from spendcast.loadtest.locust.shapes import CapacityShape

hooks.register()

__all__ = ["BatchPredictUser", "CapacityShape", "HealthUser", "MixedUser", "PredictUser"]
