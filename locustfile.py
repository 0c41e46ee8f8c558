"""The lab's entry point: run ``locust`` here, open http://localhost:8089, type the number of
users, the spawn rate and the host (e.g. http://127.0.0.1:8000), then "Start".

Plain ``locust`` runs ``PredictUser`` (GET /predict with realistic random customers). Name
other users on the command line (``locust HealthUser``, ``locust MixedUser``), pick them in the
form with ``locust --class-picker``, or filter tasks by tag (``locust MixedUser --tags predict``).
Authentication comes from the environment: ``SPENDCAST_API_TOKEN=... locust`` (sent as the
``spendcast_token`` cookie) or ``SPENDCAST_COOKIE='name=value; ...' locust`` (a raw Cookie
header, e.g. for an API behind a proxy). The scenarios live in
``spendcast.loadtest.locust.scenarios``; ``spendcast loadtest`` runs the same users headless with
exact percentiles and SLO gates.
"""

import os

from spendcast.loadtest.locust.scenarios import BatchPredictUser, HealthUser, MixedUser, PredictUser

# Locust reads its default user classes from this variable after importing the locustfile.
os.environ.setdefault("LOCUST_USER_CLASSES", "PredictUser")

__all__ = ["BatchPredictUser", "HealthUser", "MixedUser", "PredictUser"]
