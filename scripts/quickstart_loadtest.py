"""``make loadtest``: serve the API, load it for 30 s, print the results, check the inference log.

1. starts ``spendcast serve`` on a free port with a fresh random token, in a temporary working
   directory (its own SQLite inference log and API log file), and waits for ``/ready``;
2. runs the ``predict`` scenario through the same run primitive as ``spendcast loadtest``
   (``SPENDCAST_QUICKSTART_DURATION`` overrides the 30 s; the report lands in ``runs/``);
3. stops the API with SIGTERM, so the recorder flushes, and checks that the inference log
   gained exactly one row per successful ``GET /predict`` (exit code 1 when it did not).

Run from the repository root after ``spendcast train --if-missing`` (the Makefile does both).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import click

from spendcast.cli.run_display import execute
from spendcast.errors import ServerStartError
from spendcast.loadtest.run.config import RunConfig
from spendcast.loadtest.run.load import ClosedLoad
from spendcast.loadtest.run.output import Output
from spendcast.loadtest.run.server_process import started_server
from spendcast.loadtest.run.target import Target
from spendcast.loadtest.run.users import Users
from spendcast.loadtest.shared.duration import parse_duration
from spendcast.loadtest.shared.run_files import default_out_dir
from spendcast.monitoring import count_rows

USERS = 10


def _count(database_url: str) -> int:
    try:
        return count_rows(database_url)
    except Exception:  # the table appears with the first start
        return 0


def main() -> int:
    duration = parse_duration(os.environ.get("SPENDCAST_QUICKSTART_DURATION", "30s"))
    model_dir = Path(os.environ.get("SPENDCAST_MODEL_DIR", "models")).resolve()
    workdir = Path(tempfile.mkdtemp(prefix="spendcast-quickstart-"))
    database_url = f"sqlite:///{workdir / 'spendcast.db'}"
    token = secrets.token_urlsafe(24)
    server_env = {
        "SPENDCAST_API_TOKEN": token,
        "SPENDCAST_MODEL_DIR": str(model_dir),
        "SPENDCAST_DATABASE_URL": database_url,
        "SPENDCAST_LOG_FILE": str(workdir / "api_logfile.log"),
        "SPENDCAST_JOURNAL_DIR": str(workdir / "journal"),
    }
    command = [sys.executable, "-m", "spendcast", "serve", "--host", "127.0.0.1"]
    print(f"Starting the API (working directory {workdir})…", flush=True)
    with (workdir / "server.log").open("wb") as server_log:
        try:
            with started_server(
                [*command, "--port", "{port}"], cwd=workdir, env=server_env, output=server_log
            ) as server:
                rows_before = _count(database_url)
                config = RunConfig(
                    Target(server.url, token=token),
                    Users("predict"),
                    ClosedLoad(USERS, duration_s=duration),
                    output=Output(default_out_dir("quickstart")),
                )
                print(f"API ready at {server.url}; {USERS} users for {duration}s.", flush=True)
                result = execute(config)
                code = server.stop()
        except ServerStartError as error:
            print(f"error: {error} (see {workdir / 'server.log'})", file=sys.stderr)
            return 1
        except click.ClickException as error:
            error.show()
            return error.exit_code
    requests, failures = result.count("GET", "/predict")
    successes = requests - failures
    rows = _count(database_url) - rows_before
    print(f"API stopped (exit code {code}).")
    print(f"successful GET /predict: {successes}")
    print(f"inference log rows added: {rows}")
    print(f"Locust's HTML report: {result.out_dir / 'report.html'}")
    # uvicorn re-raises SIGTERM once it has shut down gracefully: -SIGTERM is a clean stop.
    if rows != successes or code not in (0, -signal.SIGTERM):
        print(f"MISMATCH: the inference log or the API disagrees; kept {workdir}", file=sys.stderr)
        return 1
    print("OK: every successful prediction is one row in the inference log.")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
