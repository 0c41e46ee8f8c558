"""``inspect_locustfile``: Locust's own loader, in a probe process, on files written here."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from spendcast.errors import LocustfileError
from spendcast.loadtest.run.locustfile import absolute_entries, inspect_locustfile

REPO = Path(__file__).resolve().parents[3]

USERS = """
from locust import HttpUser, User, task

print("a locustfile that prints while imported")


class Base(HttpUser):
    abstract = True


class Reader(Base):
    @task
    def read(self):
        self.client.get("/health")


class Scripted(User):
    @task
    def work(self):
        pass
"""


def test_concrete_users_as_locust_picks_them(tmp_path: Path) -> None:
    (tmp_path / "users.py").write_text(USERS)
    found = inspect_locustfile("users.py", cwd=tmp_path)
    assert found.classes == ("Reader", "Scripted")  # Base is abstract, HttpUser imported only
    assert found.available == ("Reader", "Scripted")
    assert found.files == (tmp_path / "users.py",)
    digest = hashlib.sha256((tmp_path / "users.py").read_bytes()).hexdigest()
    assert found.sha256 == {str(tmp_path / "users.py"): digest}
    assert found.label == "users.py: Reader, Scripted"
    assert found.public().to_json()["files"] == [{"path": str(tmp_path / "users.py"),
                                                  "sha256": digest}]  # fmt: skip
    assert inspect_locustfile("users.py", ["Scripted"], cwd=tmp_path).classes == ("Scripted",)


def test_a_folder_and_several_files_and_modules_of_the_current_directory(tmp_path: Path) -> None:
    (tmp_path / "shared.py").write_text("PATH = '/health'\n")
    folder = tmp_path / "perf"
    folder.mkdir()
    (folder / "a.py").write_text(
        "from locust import HttpUser, task\nfrom shared import PATH\n\n\nclass A(HttpUser):\n"
        "    @task\n    def t(self):\n        self.client.get(PATH)\n"
    )  # fmt: skip
    (folder / "b.py").write_text(USERS)
    whole = inspect_locustfile("perf", cwd=tmp_path)
    assert set(whole.files) == {folder / "a.py", folder / "b.py"}
    assert set(whole.classes) == {"A", "Reader", "Scripted"}
    both = inspect_locustfile("perf/a.py, perf/b.py", ["A"], cwd=tmp_path)
    assert both.files == (folder / "a.py", folder / "b.py")
    assert both.classes == ("A",)
    assert both.label == "a.py, b.py: A"


def test_the_repositorys_own_locustfile_runs_its_default_user() -> None:
    # locustfile.py sets LOCUST_USER_CLASSES=PredictUser, as plain `locust` then runs.
    found = inspect_locustfile("locustfile.py", cwd=REPO)
    assert found.classes == ("PredictUser",)
    assert {"HealthUser", "PredictUser", "MixedUser", "BatchPredictUser"} <= set(found.available)


@pytest.mark.parametrize(
    ("source", "classes", "message"),
    [
        ("import os\n\nos.environ['X'] = 1\n", (), "bad.py:3: TypeError: str expected"),
        ("from locust import HttpUser\n", (), "bad.py: no user class"),
        (USERS, ("Writer", "Reader"), "bad.py: unknown user class Writer: the file has Reader"),
        ("import sys\nsys.exit(4)\n", (), "bad.py: the file called sys.exit(4)"),
    ],
)
def test_what_locust_cannot_run_is_one_line(
    tmp_path: Path, source: str, classes: tuple[str, ...], message: str
) -> None:
    (tmp_path / "bad.py").write_text(source)
    with pytest.raises(LocustfileError) as raised:
        inspect_locustfile("bad.py", classes, cwd=tmp_path)
    assert str(raised.value).startswith(message), str(raised.value)
    assert "\n" not in str(raised.value)


def test_entries_are_made_absolute_from_the_current_directory(tmp_path: Path) -> None:
    assert absolute_entries(" a.py ,sub/b.py", tmp_path) == [
        str(tmp_path / "a.py"), str(tmp_path / "sub" / "b.py"),
    ]  # fmt: skip
    with pytest.raises(LocustfileError, match=r"give a \.py file"):
        absolute_entries(" , ", tmp_path)
    with pytest.raises(LocustfileError, match=r"^https://h/x\.py: a URL: download the file first"):
        absolute_entries("a.py, https://h/x.py", tmp_path)


OWN_OPTIONS = """
from locust import HttpUser, events, task


@events.init_command_line_parser.add_listener
def _(parser):
    parser.add_argument("--customer", default="nobody")


class Api(HttpUser):
    host = "http://api.example"

    @task
    def t(self):
        pass


class Admin(HttpUser):
    @task
    def t(self):
        pass
"""


def test_words_after_f_are_classes_and_options_parsed_by_locust(tmp_path: Path) -> None:
    (tmp_path / "own.py").write_text(OWN_OPTIONS)
    (tmp_path / "locust.conf").write_text("users = 7\nrun-time = 1m\n")
    found = inspect_locustfile("own.py", ["Api", "--customer", "ada", "-s", "3"], cwd=tmp_path)
    assert found.classes == ("Api",)
    assert found.args == ("--customer", "ada", "-s", "3")  # handed to Locust as typed
    assert found.settings == {"num_users": 7, "run_time": 60, "customer": "ada",
                              "stop_timeout": 3.0}  # fmt: skip
    assert found.own_host == "http://api.example"
    both = inspect_locustfile("own.py", ["--customer=ada"], cwd=tmp_path)
    assert both.classes == ("Api", "Admin")
    assert both.own_host is None  # Admin has no host of its own
    with pytest.raises(LocustfileError, match=r"^own\.py: unrecognized arguments: --custmer"):
        inspect_locustfile("own.py", ["--custmer", "ada"], cwd=tmp_path)
