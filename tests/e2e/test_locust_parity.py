"""The same locustfile under plain ``locust --headless`` and ``spendcast loadtest -f`` (issue 21).

Each file is written here in the style of a case that used to break (a load shape, the
file's own options, a data file and ``locust.conf`` in the current directory, HTTPS with a
self-signed certificate, the host as a class attribute, the file's own exit code, tasks that
sleep between requests, users waiting on ``spawning_complete``, a pytest-style file, names
the kit used to show otherwise), run on both sides at once against one real server, and the
two compared: exit code, request names, counts where they are deterministic (``--iterations``),
how long the test ran.

Plain Locust 2.47's ``-t`` timer fires early by as long as its imports took (gevent's cached
clock): the kit's runs last their whole ``--duration``, so counts are compared only where a
number of iterations fixes them.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from spendcast.loadtest.run.server_process import ServerProcess, started_server
from tests.conftest import require_tool
from tests.support.fixed_service import fixed_service
from tests.support.locust_parity import at_once, kit, plain, write

pytestmark = pytest.mark.e2e

HEALTH = ("GET", "/health")


def plain_run_time(seconds: int) -> str:
    """Plain locust's ``-t`` for a test of ``seconds``: its timer fires early by as long as
    loading the file took (seconds on a busy machine), which could leave it no request."""
    return f"{seconds + 4}s"


@pytest.fixture(scope="session")  # not module: its tests spread over the xdist workers
def server() -> Iterator[ServerProcess]:
    with fixed_service(service_ms=1) as running:
        yield running


def health_user(base: str = "HttpUser", first: str = "") -> str:
    """The user most files here share: ``GET /health`` every 50 ms (``first``: its first lines)."""
    return f"""
from locust import {base}, constant, task


class Api({base}):
{first}    wait_time = constant(0.05)

    @task
    def health(self):
        self.client.get("/health")
"""


SHAPE = (
    health_user()
    + """
from locust import LoadTestShape


class TwoSteps(LoadTestShape):
    def tick(self):
        run_time = self.get_run_time()
        if run_time < {first}:
            return 1, 1
        if run_time < {end}:
            return 2, 2
        return None
"""
)


def test_a_load_shape_ends_the_run_itself(tmp_path: Path, server: ServerProcess) -> None:
    locustfile = write(tmp_path, "shape.py", SHAPE, first=1, end=3)
    theirs, ours = at_once(
        partial(plain, locustfile, "-H", server.url), partial(kit, locustfile, "--host", server.url)
    )
    assert (theirs.code, ours.code) == (0, 0), ours.output
    assert theirs.names == ours.names == {HEALTH}
    assert 2.5 <= ours.summary["duration_s"] <= 4.5
    assert ours.summary["config"]["duration_s"] is None  # the shape ended it, no time limit


def test_duration_ends_a_load_shape_as_run_time_would(
    tmp_path: Path, server: ServerProcess
) -> None:
    # Plain locust warns that -t does not apply to a shape and runs it to its end (60 s).
    locustfile = write(tmp_path, "shape.py", SHAPE, first=1, end=60)
    ours = kit(locustfile, "--host", server.url, "--duration", "3s")
    assert ours.code == 0, ours.output
    assert ours.names == {HEALTH}
    assert 2.5 <= ours.summary["duration_s"] <= 4.5
    assert ours.summary["config"]["duration_s"] == 3


OPTIONS = """
import gevent
from locust import HttpUser, constant, events, task
from locust.exception import StopUser

stopped = []


@events.init_command_line_parser.add_listener
def _(parser):
    parser.add_argument("--customer", default="nobody", help="Whose predictions to ask")
    parser.add_argument("--each", type=int, default=3, help="Requests of each user")


class Api(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.left = self.environment.parsed_options.each

    @task
    def predict(self):
        if not self.left:
            raise StopUser()
        self.left -= 1
        self.client.get("/predict", name="predict for " + self.environment.parsed_options.customer)

    def on_stop(self):  # the last user to stop ends the test: the counts are exact
        stopped.append(self)
        if len(stopped) == self.environment.parsed_options.num_users:
            gevent.spawn(self.environment.runner.quit)
"""


def test_the_files_own_options_pass_through(tmp_path: Path, server: ServerProcess) -> None:
    locustfile = write(tmp_path, "options.py", OPTIONS)
    # Each user sends --each requests, stops (StopUser) and the last one quits: exact counts.
    theirs, by_name, after = at_once(
        partial(plain, locustfile, "-H", server.url, "-u", "2", "-r", "2", "-t", "30s",
                "--customer", "ada", "--each", "4"),
        partial(kit, locustfile, "--host", server.url, "--users", "2", "--duration", "30s",
                "--customer", "ada", "--each", "4"),
        partial(kit, locustfile, "Api", "--host", server.url, "--users", "2", "--duration",
                "30s", "--", "--customer=ada", "--each", "4"),
    )  # fmt: skip
    assert (theirs.code, by_name.code, after.code) == (0, 0, 0), by_name.output + after.output
    assert theirs.requests == by_name.requests == after.requests == {("GET", "predict for ada"): 8}
    assert by_name.summary["duration_s"] < 20  # the file ended it, not --duration
    refused, owned = at_once(
        partial(kit, locustfile, "--host", server.url, "--custmer", "ada"),
        partial(kit, locustfile, "--host", server.url, "--", "--csv=mine"),
    )
    assert refused.code == 2
    assert refused.output.strip().splitlines() == [
        "Error: options.py: unrecognized arguments: --custmer Did you mean '--customer'?"
    ]
    assert owned.code == 2
    assert owned.output.strip().startswith("Error: --csv is spendcast's own")


DATA_FILE = """
import csv

from locust import HttpUser, constant, task

with open("customers.csv") as file:  # relative to the current directory, as under locust
    CUSTOMERS = [row["name"] for row in csv.DictReader(file)]


class Api(HttpUser):
    wait_time = constant(0.05)

    @task
    def predict(self):
        for name in CUSTOMERS:
            self.client.get("/predict", name=f"/predict [{name}]")
"""


def test_data_files_and_locust_conf_of_the_current_directory(
    tmp_path: Path, server: ServerProcess
) -> None:
    locustfile = write(tmp_path, "data.py", DATA_FILE)
    write(tmp_path, "customers.csv", "name\nada\ngrace\n")
    write(tmp_path, "locust.conf", f"host = {server.url}\nusers = 3\nspawn-rate = 3\n"
          "run-time = 3s\n")  # fmt: skip
    # One after the other: locust.conf's run-time has no room for plain locust's late timer
    # (module docstring) when both sides start at once on a busy machine.
    theirs, ours = plain(locustfile), kit(locustfile)
    assert (theirs.code, ours.code) == (0, 0), ours.output
    names = {("GET", "/predict [ada]"), ("GET", "/predict [grace]")}
    assert theirs.names == ours.names == names
    config = ours.summary["config"]
    assert (config["host"], config["users"], config["duration_s"]) == (server.url, 3, 3)
    assert 2.5 <= ours.summary["duration_s"] <= 4.5
    assert not (tmp_path / "locust_stats.csv").exists()  # the run directory is elsewhere


CLASS_HOST = health_user(first='    host = "{url}"\n')


def test_the_host_as_a_class_attribute(tmp_path: Path, server: ServerProcess) -> None:
    locustfile = write(tmp_path, "class_host.py", CLASS_HOST, url=server.url)
    theirs, ours = at_once(
        partial(plain, locustfile, "-u", "1", "-t", plain_run_time(2)),
        partial(kit, locustfile, "--users", "1", "--duration", "2s"),
    )
    assert (theirs.code, ours.code) == (0, 0), ours.output
    assert theirs.names == ours.names == {HEALTH}
    assert ours.summary["config"]["host"] == server.url


HTTPS = health_user("FastHttpUser")


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """The fixed service over HTTPS with a certificate nobody signed."""
    require_tool("openssl")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost"],
                   check=True, capture_output=True)  # fmt: skip
    command = [sys.executable, "-m", "uvicorn", "tests.support.fixed_service_app:app",
               "--port", "{port}", "--log-level", "warning", "--ssl-keyfile", str(key),
               "--ssl-certfile", str(cert)]  # fmt: skip
    root = Path(__file__).resolve().parents[2]
    with started_server(command, cwd=root, ready_path="/health", scheme="https") as running:
        yield running


def test_https_with_a_self_signed_certificate(tmp_path: Path, tls_server: ServerProcess) -> None:
    locustfile = write(tmp_path / "tls", "https.py", HTTPS)
    host = tls_server.url
    theirs, ours = at_once(
        partial(plain, locustfile, "-H", host, "-u", "1", "-t", plain_run_time(2)),
        partial(kit, locustfile, "--host", host, "--users", "1", "--duration", "2s"),
    )
    assert (theirs.code, ours.code) == (0, 0), ours.output
    assert theirs.names == ours.names == {HEALTH}
    assert ours.summary["failures"] == 0


EXIT_CODE = (
    health_user()
    + """
from locust import events


@events.quitting.add_listener
def _(environment, **kwargs):
    if environment.stats.total.num_requests > 0:  # the documented CI recipe's shape
        environment.process_exit_code = 1
"""
)


def test_the_files_exit_code_is_the_runs(tmp_path: Path, server: ServerProcess) -> None:
    locustfile = write(tmp_path, "gate.py", EXIT_CODE)
    theirs, ours = at_once(
        partial(plain, locustfile, "-H", server.url, "-u", "1", "-t", plain_run_time(2)),
        partial(kit, locustfile, "--host", server.url, "--users", "1", "--duration", "2s"),
    )
    assert (theirs.code, ours.code) == (1, 1), ours.output
    assert theirs.names == ours.names == {HEALTH}
    assert ours.summary["locust_exit_code"] == 1  # the run directory is written all the same
    assert "Error: Locust exited with code 1" in ours.output


LONG_TASK = """
import time

from locust import HttpUser, between, task


class Shopper(HttpUser):
    wait_time = between(0.1, 0.2)

    def on_start(self):
        self.client.get("/health", name="login")

    @task
    def browse(self):
        for _ in range(20):
            self.client.get("/predict", name="/item")
            time.sleep(0.5)
"""


def test_users_in_a_long_task_stop_at_the_end(tmp_path: Path, server: ServerProcess) -> None:
    # Each task lasts 10 s: the kit's --stop-timeout let users send for 10 s past the end.
    locustfile = write(tmp_path, "long_task.py", LONG_TASK)
    theirs, ours = at_once(
        partial(plain, locustfile, "-H", server.url, "-u", "3", "-r", "3", "-t",
                plain_run_time(3)),
        partial(kit, locustfile, "--host", server.url, "--users", "3", "--duration", "3s"),
    )  # fmt: skip
    assert (theirs.code, ours.code) == (0, 0), ours.output
    assert theirs.names == ours.names == {("GET", "login"), ("GET", "/item")}
    # The request in flight ends, the one after the user's sleep is the last: not 10 s more.
    assert ours.summary["duration_s"] <= 4.5
    assert ours.requests[("GET", "/item")] <= 3 * (3 / 0.5 + 2)


def test_long_iterations_grow_the_open_models_pool(tmp_path: Path, server: ServerProcess) -> None:
    locustfile = write(tmp_path, "long_task.py", LONG_TASK)
    ours = kit(locustfile, "--host", server.url, "--rate", "4", "--duration", "4s")
    assert ours.code == 0, ours.output
    # Every user is busy 10 s per iteration: the pool grows on the slots nobody took.
    assert max(row["users"] or 0 for row in ours.summary["timeseries"]) >= 8
    assert ours.summary["iterations"] > ours.summary["dropped"]


SEMAPHORE = """
from gevent.lock import Semaphore
from locust import events

everyone = Semaphore()
everyone.acquire()


@events.spawning_complete.add_listener
def _(user_count, **kwargs):
    everyone.release()
""" + health_user(first="    def on_start(self):\n        everyone.wait()\n\n")


def test_users_waiting_for_spawning_complete(tmp_path: Path, server: ServerProcess) -> None:
    locustfile = write(tmp_path, "semaphore_wait.py", SEMAPHORE)
    theirs, ours = at_once(
        partial(plain, locustfile, "-H", server.url, "-u", "4", "-r", "2", "-t", "4s"),
        partial(kit, locustfile, "--host", server.url, "--users", "4", "--spawn-rate", "2",
                "--duration", "4s"),
    )  # fmt: skip
    assert (theirs.code, ours.code) == (0, 0), ours.output
    assert ours.names == {HEALTH}
    assert theirs.names <= ours.names  # plain locust's -t may end it before the ramp-up does
    # The whole duration ran: the ramp-up (2 s) ended and the users sent afterwards.
    assert 3.5 <= ours.summary["duration_s"] <= 5.5


PYTEST_STYLE = """
from locust.clients import HttpSession


def test_health(session: HttpSession):
    response = session.get("/health")
    assert response.status_code == 200


def test_predict(session):
    session.get("/predict", name="predict")
"""


def test_a_pytest_style_locustfile(tmp_path: Path, server: ServerProcess) -> None:
    locustfile = write(tmp_path, "test_api.py", PYTEST_STYLE)
    theirs, ours = at_once(
        partial(plain, locustfile, "-H", server.url, "-u", "2", "-r", "2", "-t", "3s"),
        partial(kit, locustfile, "--host", server.url, "--users", "2", "--duration", "3s"),
    )
    assert (theirs.code, ours.code) == (0, 0), ours.output
    assert ours.names == {HEALTH, ("GET", "predict")}
    assert theirs.names <= ours.names
    assert ours.summary["config"]["user_classes"] == ["test_health", "test_predict"]


AS_WRITTEN = """
import time

from locust import HttpUser, constant, task


class Api(HttpUser):
    wait_time = constant(0.05)

    @task
    def predict(self):
        self.client.get("/predict?age=42", name="/predict?[random customer]")
        started = time.perf_counter()
        self.environment.events.request.fire(
            request_type="manual", name="a step", response_time=(time.perf_counter() - started),
            response_length=0, exception=None, context={},
        )
"""


def test_names_and_types_are_shown_as_written(tmp_path: Path, server: ServerProcess) -> None:
    locustfile = write(tmp_path, "as_written.py", AS_WRITTEN)
    theirs, ours = at_once(
        partial(plain, locustfile, "-H", server.url, "-u", "1", "-t", plain_run_time(2)),
        partial(kit, locustfile, "--host", server.url, "--users", "1", "--duration", "2s",
                quiet=False),
    )  # fmt: skip
    assert (theirs.code, ours.code) == (0, 0), ours.output
    names = {("GET", "/predict?[random customer]"), ("manual", "a step")}
    assert theirs.names == ours.names == names
    assert "GET /predict?[random customer]" in ours.output
    assert "manual a step" in ours.output
