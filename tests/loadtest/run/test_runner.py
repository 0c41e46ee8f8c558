"""The run primitive's own failures, with a real Locust subprocess."""

from __future__ import annotations

from pathlib import Path

import pytest

from spendcast.errors import LoadTestError
from spendcast.loadtest.run.config import RunConfig
from spendcast.loadtest.run.generators import LocalProcesses
from spendcast.loadtest.run.load import ClosedLoad
from spendcast.loadtest.run.locust_command import locust_command
from spendcast.loadtest.run.output import Output
from spendcast.loadtest.run.runner import run_load
from spendcast.loadtest.run.target import Target
from spendcast.loadtest.run.users import Users
from spendcast.loadtest.shared.contract import RECORDING_LOCUSTFILE, SCENARIOS_LOCUSTFILE
from tests.support.server import free_port


def test_a_crashing_locust_is_a_run_failure(tmp_path: Path) -> None:
    # A think time Locust cannot read makes the locustfile fail at import: Locust exits at once.
    config = RunConfig(
        Target(f"http://127.0.0.1:{free_port()}", check_host=False),
        load=ClosedLoad(duration_s=2),
        output=Output(tmp_path / "run"),
        extra_env={"SPENDCAST_LOADTEST_THINK_TIME": "not-a-number"},
    )
    with pytest.raises(LoadTestError, match="Locust failed"):
        run_load(config)
    assert not (tmp_path / "run" / "summary.json").exists()


def test_the_command_names_the_scenario_user_and_never_the_token(tmp_path: Path) -> None:
    config = RunConfig(
        Target("http://h", token="s3cret"), Users("batch"), generators=LocalProcesses(2)
    )
    command = locust_command(config, tmp_path)
    files = command[command.index("-f") + 1].split(",")
    assert files == [str(SCENARIOS_LOCUSTFILE), str(RECORDING_LOCUSTFILE)]
    assert command[command.index("-f") + 2] == "BatchPredictUser"
    assert command[command.index("--processes") + 1] == "2"
    assert "s3cret" not in " ".join(command)
    assert "s3cret" not in str(config.public())


def test_local_processes_get_a_master_port_of_their_own(tmp_path: Path) -> None:
    """Locust's --processes master binds 5557 by default: two runs on one machine collided."""
    ports = set()
    for _ in range(2):
        config = RunConfig(Target("http://h"), generators=LocalProcesses(2))
        command = locust_command(config, tmp_path)
        bind = command[command.index("--master-bind-port") + 1]
        assert command[command.index("--master-port") + 1] == bind
        ports.add(int(bind))
    assert len(ports) == 2
    assert 5557 not in ports
    assert "--master-bind-port" not in locust_command(RunConfig(Target("http://h")), tmp_path)


def test_bad_configurations_are_refused() -> None:
    with pytest.raises(ValueError, match="scenario"):
        RunConfig(Target("http://h"), Users("soak"))
    with pytest.raises(ValueError, match="think time"):
        RunConfig(Target("http://h"), Users(think_time="x"))
