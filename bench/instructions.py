"""Instructions per request, counted by valgrind's callgrind: a figure that the machine's load
does not move (the same binary, inputs and environment give the same count), to compare the
user-space work per request of ``/predict`` and of the bare hello where CPU time is too noisy.

    python -m bench instructions                    # spendcast /predict vs the bare hello
    python -m bench instructions --baseline HEAD~3  # and against an older revision's src

Each server runs under ``valgrind --tool=callgrind`` (one worker; children are not traced,
so spendcast's throwaway model-loading process runs natively), gets ``--warmup`` requests,
then its counters are zeroed (``callgrind_control --zero``), ``--requests`` requests are sent
over one keep-alive connection and the counters dumped (``callgrind_control --dump``). Counted:
user space, every thread (the recorder's and the access log's writers too). Not counted: the
kernel (socket writes, the journal's ``write``), which the hello and ``/predict`` share mostly.
"""

from __future__ import annotations

import functools
import http.client
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import click

from bench.options import shared_options
from bench.report import format_table
from bench.results import Ratio, Results, command_line
from bench.servers import PORT, RunningServer, ServerSpec, running
from bench.suites import HELLO_APP, ROOT, serve_stack_command, spendcast_env, train_model
from spendcast.cli.errors import BadInput

EDUCATIONS = ("High%20School", "Bachelor", "Master", "PhD")
STARTUP_TIMEOUT_S = 900.0  # importing FastAPI & co under valgrind takes a minute or more
DUMP_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Count:
    server: str
    requests: int
    instructions: int

    @property
    def per_request(self) -> float:
        return self.instructions / self.requests


def summary_instructions(dump: str) -> int:
    """The instructions of a callgrind dump (its ``summary:`` line)."""
    for line in dump.splitlines():
        if line.startswith("summary:"):
            return int(line.split()[1])
    raise ValueError("no 'summary:' line in the callgrind dump")


def _send(server: RunningServer, count: int, token: str, predict: bool, seed: int) -> None:
    draw = random.Random(seed)
    connection = http.client.HTTPConnection(server.url.removeprefix("http://"), timeout=60)
    headers = {"Cookie": f"spendcast_token={token}"}
    try:
        for _ in range(count):
            path = "/health"
            if predict:
                education = draw.choice(EDUCATIONS)
                age, income = draw.randint(18, 80), draw.randint(12, 150) * 1000
                path = f"/predict?education={education}&age={age}&income={income}"
            connection.request("GET", path, headers=headers)
            answer = connection.getresponse()
            answer.read()
            if answer.status != 200:
                raise click.ClickException(f"{server.spec.name}: {path} answered {answer.status}")
    finally:
        connection.close()


def _callgrind(pid: int, *args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True)


def _dumped(directory: Path, pid: int) -> str:
    deadline = time.monotonic() + DUMP_TIMEOUT_S
    while time.monotonic() < deadline:
        for path in directory.glob(f"callgrind.{pid}.out.*"):
            text = path.read_text(errors="replace")
            if "summary:" in text:
                return text
        time.sleep(0.2)
    raise click.ClickException(f"callgrind wrote no dump for process {pid}")


def measure(
    label: str, spec: ServerSpec, work: Path, *, requests: int, warmup: int, token: str,
    predict: bool,
) -> Count:  # fmt: skip
    with running(spec, work) as server:
        pid = server.process.pid  # valgrind runs the server in the process it was started as
        _send(server, warmup, token, predict, seed=1)
        _callgrind(pid, "--zero")
        _send(server, requests, token, predict, seed=2)
        _callgrind(pid, "--dump=measured")
        instructions = summary_instructions(_dumped(work, pid))
    return Count(label, requests, instructions)


def _under_callgrind(command: tuple[str, ...], work: Path) -> tuple[str, ...]:
    return (
        "valgrind",
        "--tool=callgrind",
        "--trace-children=no",
        "--dump-instr=no",
        f"--callgrind-out-file={work}/callgrind.%p.out",
        *command,
    )


def _spendcast(work: Path, model_dir: Path, token: str) -> ServerSpec:
    env = {**spendcast_env(work, model_dir, token), "PYTHONHASHSEED": "0"}
    command = (sys.executable, "-m", "spendcast", "serve", "--host", "127.0.0.1", "--port", PORT)
    return ServerSpec(
        "spendcast",
        _under_callgrind(command, work),
        ready_path="/ready",
        env=env,
        cwd=work,
        startup_timeout_s=STARTUP_TIMEOUT_S,
    )


@contextmanager
def _directory(name: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"spendcast-instructions-{name}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@shared_options("instructions", rounds=1, quick_rounds=1, quick="200 requests after 50", pin="none")
@click.option("--requests", type=click.IntRange(min=1), default=None,
              help="Requests counted per server [2000; --quick: 200].")  # fmt: skip
@click.option("--warmup", type=click.IntRange(min=0), default=None,
              help="Requests before the count starts (caches, first calls) [300; 50].")  # fmt: skip
@click.option(
    "--model-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="A directory with a trained model [default: train one in a temp dir].",
)
@click.option("--only", type=click.Choice(["hello", "predict"]), default=None,
              help="Measure only the bare hello or only /predict.")  # fmt: skip
def main(
    quick: bool, rounds: int, pin: bool, out: Path, requests: int | None, warmup: int | None,
    model_dir: Path | None, only: str | None,
) -> None:  # fmt: skip
    """Count the instructions per request of /predict (spendcast serve, 1 worker, its token,
    recorder and log) and of the bare ASGI hello on the same server stack."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise BadInput("valgrind is not installed (apt-get install valgrind)")
    requests = requests or (200 if quick else 2000)
    warmup = warmup if warmup is not None else (50 if quick else 300)
    token = secrets.token_urlsafe(16)
    count = functools.partial(measure, requests=requests, warmup=warmup, token=token)
    counts: list[Count] = []
    with _directory("model") as trained:
        if model_dir is None and only != "hello":
            model_dir = trained
            click.echo(f"training a model in {model_dir} ...", err=True)
            train_model(trained)
        for _ in range(rounds):
            if only != "predict":
                with _directory("hello") as work:
                    hello = ServerSpec(
                        "hello",
                        _under_callgrind(serve_stack_command(HELLO_APP, 1), work),
                        cwd=ROOT,
                        startup_timeout_s=STARTUP_TIMEOUT_S,
                    )
                    counts.append(count("bare hello", hello, work, predict=False))
            if only != "hello":
                assert model_dir is not None
                with _directory("predict") as work:
                    spec = _spendcast(work, model_dir, token)
                    counts.append(count("spendcast /predict", spec, work, predict=True))
            for done in counts[-2 if only is None else -1 :]:
                click.echo(f"{done.server}: {done.per_request:,.0f} instructions/request")
    figures: dict[str, list[float]] = {}
    for done in counts:
        figures.setdefault(f"{done.server}: instructions/request", []).append(done.per_request)
    hello_counts = figures.get("bare hello: instructions/request", [])
    rows = []
    for name, values in figures.items():
        per_hello = [v / h for v, h in zip(values, hello_counts, strict=False)]
        rows.append([name.split(":")[0], f"{statistics.median(values):,.0f}",
                     f"{statistics.median(per_hello):.2f}" if per_hello else ""])  # fmt: skip
    click.echo()
    click.echo(f"callgrind, {requests} requests per server after {warmup}, user space, all threads")
    click.echo(format_table(["server", "instructions/request", "/ hello"], rows))
    ratios = {}
    predict_counts = figures.get("spendcast /predict: instructions/request", [])
    if hello_counts and predict_counts:
        pairs = zip(predict_counts, hello_counts, strict=True)
        ratios["/predict / bare hello, instructions"] = Ratio.of([p / h for p, h in pairs])
    results = Results("instructions", command_line(), rounds, ratios,
                      {name: tuple(values) for name, values in figures.items()})  # fmt: skip
    click.echo(
        f"\nwrote {results.write(out, {'settings': {'requests': requests, 'warmup': warmup}})}"
    )


if __name__ == "__main__":
    main()
