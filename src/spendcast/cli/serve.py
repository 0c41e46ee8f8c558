"""``spendcast serve``: the prediction API under uvicorn, one app per worker process."""

from __future__ import annotations

import copy
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import click

from spendcast.cli.env_options import EnvOptions

APP_FACTORY = "spendcast.api.app:create_app"
JSON_ERROR_HTTP = "spendcast.api.protocol:JsonErrorHttpToolsProtocol"
GRACEFUL_SHUTDOWN_SECONDS = 30
BACKLOG = 2048
STARTUP_FAILURE = 1  # the server could not start (3, uvicorn's code for it, is an SLO breach)
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
LOG_FORMATS = ("text", "json")
LOG_FORMATTER = "spendcast.api.log_escape.EscapingFormatter"
# One BLAS/OpenMP thread per worker: workers already use every core; more threads only fight.
THREAD_LIMITS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
option = EnvOptions()  # the settings' own env names: SPENDCAST_HOST, ...


@click.command()
@option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Interface to listen on (0.0.0.0 for every interface).",
)
@option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="TCP port to listen on.",
)
@option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Worker processes, each with its own model and recorder.",
)
@option(
    "--root-path",
    default="",
    help="Path prefix a proxy strips before forwarding (e.g. /api); /docs works under it.",
)
@option.model_dir("Directory of trained models [default: models].")
@option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    help="Server log verbosity (calls go to the API log file).",
)
@option(
    "--log-format",
    type=click.Choice(LOG_FORMATS, case_sensitive=False),
    help="API log file format: text lines, or json (one object a line) [default: text].",
)
def serve(
    host: str,
    port: int,
    workers: int,
    root_path: str,
    model_dir: Path | None,
    log_level: str,
    log_format: str | None,
) -> None:
    """Serve the prediction API with uvicorn (no auto-reload).

    Every call is logged to SPENDCAST_LOG_FILE and every prediction recorded in
    SPENDCAST_DATABASE_URL. Set SPENDCAST_API_TOKEN to require a token (cookie
    spendcast_token or Authorization: Bearer) on /predict and to enable POST /train.
    Stops gracefully on SIGTERM or Ctrl-C, after flushing both. The API log file is reopened
    when it is moved (logrotate) and on SIGHUP.

    Exit codes: 0 stopped, 1 the server could not start, 2 usage error.
    """
    for name in THREAD_LIMITS:  # before numpy loads, here and in the workers
        os.environ.setdefault(name, "1")
    if model_dir is not None:
        os.environ["SPENDCAST_MODEL_DIR"] = str(model_dir)
    if log_format is not None:
        os.environ["SPENDCAST_LOG_FORMAT"] = log_format.lower()
    _require_valid_settings()
    _require_database_url()
    _require_model()

    import uvicorn

    metrics_dir = tempfile.mkdtemp(prefix="spendcast-metrics-")
    # Set before any worker imports prometheus_client, which reads it at import.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    # uvicorn re-raises SIGTERM once it has shut down gracefully: with the default action that
    # kills this process (exit -15, metrics_dir left behind). A graceful stop is a success.
    signal.signal(signal.SIGTERM, _exit_after_graceful_stop)
    config = uvicorn.Config(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        root_path=root_path.rstrip("/"),
        log_level=log_level.lower(),
        log_config=_log_config(log_level.upper()),
        access_log=False,  # the API log file replaces uvicorn's access log
        loop="uvloop",
        http=JSON_ERROR_HTTP,  # httptools, answering its parse errors in the error shape
        ws="none",  # no websocket route: keeps websockets out of the workers
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        backlog=BACKLOG,
    )
    try:
        if workers == 1:
            server = uvicorn.Server(config)
            try:
                server.run()
            except SystemExit as stop:  # uvicorn's own code for a failed startup is 3
                if stop.code != uvicorn.config.STARTUP_FAILURE:
                    raise
                raise SystemExit(STARTUP_FAILURE) from None
            if not server.started:
                raise SystemExit(STARTUP_FAILURE)
        else:
            from uvicorn.supervisors import Multiprocess

            # uvicorn's supervisor (restarts, signals), each worker on its own socket.
            Multiprocess(config, sockets=[listening_socket(host, port)]).run()
    except KeyboardInterrupt:
        pass  # uvicorn re-raises Ctrl-C once it has shut down gracefully
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


class _WorkerSocket(socket.socket):
    """The server's address, bound in the supervisor with ``SO_REUSEPORT`` and never listened
    on there. uvicorn hands it to each worker; pickled to a worker, it becomes a new socket
    of that worker's own on the same address.

    With one shared socket, the worker that wakes first accepts every pending connection:
    against a client that connects all at once (wrk), one worker often serves everything
    while the other idles. With one socket per worker the kernel spreads connections.
    """

    def __reduce__(self) -> tuple[object, tuple[int, str, int]]:
        host, port = self.getsockname()[:2]
        return _reuseport_socket, (self.family, host, port)


def _reuseport_socket(
    family: int, host: str, port: int, kind: type[socket.socket] = socket.socket
) -> socket.socket:
    sock = kind(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def listening_socket(host: str, port: int) -> socket.socket:
    """The address every worker will listen on (port 0: one the kernel picks, for all)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = _reuseport_socket(family, host, port, _WorkerSocket)
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error}") from None
    bound = sock.getsockname()[1]
    address = f"[{host}]" if family == socket.AF_INET6 else host
    logging.getLogger("uvicorn.error").info(
        "Uvicorn running on http://%s:%d (Press CTRL+C to quit)", address, bound
    )
    return sock


def _exit_after_graceful_stop(signum: int, frame: object) -> None:
    raise SystemExit(0)


class _BadSetting(click.ClickException):
    """A SPENDCAST_* variable no worker could start with (exit code 2, a usage error)."""

    exit_code = 2


def _require_valid_settings() -> None:
    """Refuse to start, in one line, on settings that do not validate (a token that cannot be
    sent in a header, a limit out of range). The value itself is never echoed."""
    from pydantic import ValidationError

    from spendcast.settings import Settings

    try:
        Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"SPENDCAST_{'_'.join(str(part) for part in e['loc']).upper()}: "
            f"{e['msg'].removeprefix('Value error, ')}"
            for e in error.errors(include_input=False, include_url=False)
        )
        raise _BadSetting(problems) from None


def _require_database_url() -> None:
    """Refuse to start, in one line, on a database URL no worker could use.

    A database that is merely down is fine: rows wait in the journal until it answers.
    """
    from spendcast.errors import RecorderError
    from spendcast.monitoring.database import make_engine
    from spendcast.settings import Settings

    try:
        make_engine(Settings().database_url).dispose()
    except RecorderError as error:
        raise click.ClickException(f"{error} (SPENDCAST_DATABASE_URL)") from None


def _require_model() -> None:
    """Refuse to start, in one line, unless the current model loads (allowed types only).

    Checked before uvicorn starts: a worker whose startup fails prints a traceback, and with
    several workers uvicorn then exits 0. The check runs in a throwaway process, so that
    neither the supervisor nor a single worker (this process) keeps scikit-learn in memory.
    """
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        problem = pool.submit(model_problem).result()
    if problem is not None:
        raise click.ClickException(problem)


def model_problem() -> str | None:
    """Why the current model of SPENDCAST_MODEL_DIR cannot be served, or None if it can."""
    from spendcast.errors import ModelNotFoundError, SpendcastError
    from spendcast.model.artifact import load_predictor
    from spendcast.settings import Settings

    model_dir = Settings().model_dir
    try:
        load_predictor(model_dir)
    except ModelNotFoundError:
        return f"no trained model in {model_dir}: run `spendcast train` first"
    except SpendcastError as error:
        return f"refusing to serve the model in {model_dir}: {error}"
    return None


def _log_config(level: str) -> dict[str, object]:
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    # Request-derived text (a path in an exception) cannot forge a line of the server's log.
    config["formatters"]["default"]["()"] = LOG_FORMATTER
    config["loggers"]["spendcast"] = {"handlers": ["default"], "level": level, "propagate": False}
    return config
