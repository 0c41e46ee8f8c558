"""Locustfiles as users write them, knowing nothing of spendcast (the lab's style and others).

Each template is formatted with the test server's ``token``, written into a test's folder with
its neighbour module ``customers.py`` (which the lab-style file imports).
"""

from __future__ import annotations

from pathlib import Path

RANDOM_NAME = "/predict?[random customer]"
FIXED_URL = "/predict?education=PhD&age=42&income=50000"

NEIGHBOUR = """
import random

EDUCATIONS = ["High School", "Bachelor", "Master", "PhD"]


def random_query():
    education = random.choice(EDUCATIONS).replace(" ", "%20")
    return f"education={education}&age={random.randint(18, 90)}&income={random.randint(0, 200000)}"
"""

LAB_STYLE = """
from locust import {base}, task, between

from customers import random_query

YOUR_COOKIE = "spendcast_token={token}"


class ApiUser({base}):
    wait_time = between(0, 0.01)

    @task(3)
    def health_then_predict(self):
        self.client.get("/health", headers={{"Cookie": YOUR_COOKIE}})
        self.client.get("/predict?" + random_query(), name="{random_name}",
                        headers={{"Cookie": YOUR_COOKIE}})

    @task
    def the_labs_first_predict(self):
        self.client.get("{fixed_url}", headers={{"Cookie": YOUR_COOKIE}})
"""

CUSTOM_CLIENT = '''
import time
import urllib.request

from locust import User, task, constant

COOKIE = "spendcast_token={token}"


class ScriptUser(User):
    """A client of its own: it times each call and fires Locust's request event itself."""

    wait_time = constant(0)

    @task
    def call(self):
        request = urllib.request.Request(self.host + "/health", headers={{"Cookie": COOKIE}})
        started = time.perf_counter()
        error = None
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                length = len(answer.read())
        except OSError as failure:
            error, length = failure, 0
        self.environment.events.request.fire(
            request_type="SCRIPT", name="health check: urllib", context={{}},
            response_time=(time.perf_counter() - started) * 1000, response_length=length,
            exception=error,
        )
'''

TWO_USERS = """
from locust import FastHttpUser, HttpUser, tag, task

COOKIE = {{"Cookie": "spendcast_token={token}"}}


class Reader(FastHttpUser):
    @tag("health")
    @task
    def health(self):
        self.client.get("/health", headers=COOKIE, name="reader health")

    @tag("predict")
    @task
    def predict(self):
        self.client.get("{fixed_url}", headers=COOKIE, name="reader predict")


class Writer(HttpUser):
    @task
    def predict(self):
        self.client.get("{fixed_url}", headers=COOKIE, name="writer predict")
"""


def write_locustfile(folder: Path, template: str, name: str, *, token: str, **values: str) -> Path:
    """``template`` as ``folder/name``, its neighbour module ``customers.py`` beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "customers.py").write_text(NEIGHBOUR)
    path = folder / name
    path.write_text(
        template.format(token=token, random_name=RANDOM_NAME, fixed_url=FIXED_URL, **values)
    )
    return path


# For ``fixed_service``: no cookie, a name of the user's own, one class among two.
FIXED_SERVICE = """
from locust import HttpUser, constant, task


class Caller(HttpUser):
    wait_time = constant(0)

    @task
    def predict(self):
        self.client.get("/predict?age=40", name="my predict")


class Idle(HttpUser):
    @task
    def health(self):
        self.client.get("/health", name="never sent")
"""

WITH_A_SHAPE = """
from locust import HttpUser, LoadTestShape, task


class Caller(HttpUser):
    @task
    def predict(self):
        self.client.get("/predict")


class Ramp(LoadTestShape):
    def tick(self):
        return (1, 1) if self.get_run_time() < 5 else None
"""
