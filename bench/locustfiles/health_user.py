"""The benchmark's one-line Locust user: ``GET /health`` as fast as it answers.

``PacedHealthUser`` sends the same request at ``BENCH_USER_RATE`` requests per second per user:
plain Locust's nearest to an open-model rate. This file sits alone in its folder because
Locust puts a locustfile's folder first on ``sys.path``.
"""

import os

from locust import FastHttpUser, constant_throughput, task

USER_RATE_ENV = "BENCH_USER_RATE"


class HealthUser(FastHttpUser):
    @task
    def health(self) -> None:
        self.client.get("/health")


class PacedHealthUser(HealthUser):
    wait_time = constant_throughput(float(os.environ.get(USER_RATE_ENV, "1")))
