"""``spendcast serve``: the prediction API under uvicorn, one app per worker process."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import stat
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

import click

from spendcast.cli.env_options import EnvOptions
from spendcast.cli.errors import BadInput, ExitCode, exit_codes
from spendcast.errors import ListenError
from spendcast.model.loader import COMPILED_DIR
from spendcast.server.config import uvicorn_config
from spendcast.server.workers import can_pin, run_workers

if TYPE_CHECKING:
    from spendcast.settings import Settings

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
LOG_FORMATS = ("text", "json")
# One BLAS/OpenMP thread per worker: workers already use every core; more threads only fight.
THREAD_LIMITS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
option = EnvOptions()  # the settings' own env names: SPENDCAST_HOST, ...


@click.command()
@exit_codes("serve")
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
    "--pin-workers/--no-pin-workers",
    default=False,
    show_default=True,
    help="Keep each worker, all its threads, on one CPU, the workers spread over the CPUs "
    "this process may use (a restarted worker takes the CPU its predecessor left). Linux "
    "only. Faster on a machine given to the server; a pinned worker cannot move away from "
    "a CPU another program keeps busy.",
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
    pin_workers: bool,
    root_path: str,
    model_dir: Path | None,
    log_level: str,
    log_format: str | None,
) -> None:
    """Serve the prediction API with uvicorn (no auto-reload).

    Every call is logged to SPENDCAST_LOG_FILE and every prediction recorded in
    SPENDCAST_DATABASE_URL. The model comes from SPENDCAST_MODEL_STORE (a directory, or the
    PostgreSQL database every replica shares; --model-dir when unset), followed within
    SPENDCAST_MODEL_POLL_SECONDS; SPENDCAST_MODEL_CACHE_DIR keeps what each start compiles
    for the next. Set SPENDCAST_API_TOKEN to require a token (cookie
    spendcast_token or Authorization: Bearer) on /predict and to enable POST /train.
    Stops gracefully on SIGTERM or Ctrl-C, after flushing both. The API log file is reopened
    when it is moved (logrotate) and on SIGHUP.
    """
    if pin_workers and not can_pin():
        raise click.UsageError("--pin-workers needs Linux (sched_setaffinity and /proc)")
    for name in THREAD_LIMITS:  # before numpy loads, here and in the workers
        os.environ.setdefault(name, "1")
    if model_dir is not None:
        os.environ["SPENDCAST_MODEL_DIR"] = str(model_dir)
    if log_format is not None:
        os.environ["SPENDCAST_LOG_FORMAT"] = log_format.lower()
    settings = _require_valid_settings()
    _require_database_url()
    # The models its check compiles, kept for its workers (model/loader.py): in the cache
    # directory, or private to this server and removed with it; the workers' metrics, always
    # private (prometheus_client reads the variable at import, in each worker).
    with (
        _compiled_models(settings.model_cache_dir),
        _private_directory("PROMETHEUS_MULTIPROC_DIR", "spendcast-metrics-"),
    ):
        _require_model()
        import uvicorn

        # uvicorn re-raises SIGTERM once it has shut down gracefully: with the default action
        # that kills this process (exit -15, the directories left behind). A graceful stop is
        # a success.
        signal.signal(signal.SIGTERM, _exit_after_graceful_stop)
        config = uvicorn_config(
            host=host, port=port, workers=workers, root_path=root_path, log_level=log_level
        )
        if settings.api_token is None:  # logged once uvicorn_config has set the logging up
            logging.getLogger("spendcast").warning(
                "SPENDCAST_API_TOKEN is not set: /predict answers without a token, "
                "and POST /train is off"
            )
        try:
            server = run_workers(config, pin=pin_workers)
        except SystemExit as stop:  # uvicorn's own code for a failed startup, 3, is our GATE
            if stop.code != uvicorn.config.STARTUP_FAILURE:
                raise
            raise SystemExit(ExitCode.FAILED) from None
        except ListenError as error:
            raise click.ClickException(str(error)) from None
        except KeyboardInterrupt:
            return  # uvicorn re-raises Ctrl-C once it has shut down gracefully
        if server is not None and not server.started:
            raise SystemExit(ExitCode.FAILED)


@contextmanager
def _private_directory(variable: str, prefix: str) -> Iterator[None]:
    """A new directory only this user can use, named by ``variable`` in the environment (the
    workers inherit it) for the block, then removed."""
    os.environ[variable] = path = tempfile.mkdtemp(prefix=prefix)
    try:
        yield
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _compiled_models(cache_dir: Path | None) -> AbstractContextManager[None]:
    """Where the workers find the models compiled before them (``COMPILED_DIR``): the cache
    directory, checked to be this user's alone, or a private one for this server's life."""
    if cache_dir is None:
        return _private_directory(COMPILED_DIR, "spendcast-compiled-")
    problem = _cache_directory_problem(cache_dir)
    if problem is not None:
        raise BadInput(f"SPENDCAST_MODEL_CACHE_DIR {cache_dir}: {problem}")
    os.environ[COMPILED_DIR] = str(cache_dir.resolve())
    return nullcontext()


def _cache_directory_problem(path: Path) -> str | None:
    """Why ``path`` cannot hold what this user alone may write (made 0700 if missing), or
    None: a predictor read from it is served without the artifact's checks."""
    try:
        if not path.is_dir():
            if path.exists():
                return "not a directory"
            path.mkdir(mode=0o700, parents=True)
        status = path.stat()
    except OSError as error:
        return error.strerror or str(error)
    if status.st_uid != os.getuid():
        return f"owned by uid {status.st_uid}, not by this user (uid {os.getuid()})"
    if status.st_mode & 0o022:
        return f"others may write it (mode {stat.S_IMODE(status.st_mode):04o}): chmod go-w"
    return None


def _exit_after_graceful_stop(signum: int, frame: object) -> None:
    raise SystemExit(ExitCode.OK)


def _require_valid_settings() -> Settings:
    """Refuse to start, in one line, on settings that do not validate (a token that cannot be
    sent in a header, a limit out of range). The value itself is never echoed."""
    from pydantic import ValidationError

    from spendcast.settings import Settings

    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"SPENDCAST_{'_'.join(str(part) for part in e['loc']).upper()}: "
            f"{e['msg'].removeprefix('Value error, ')}"
            for e in error.errors(include_input=False, include_url=False)
        )
        raise BadInput(problems) from None  # no worker could start with it


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
    """Refuse to start, in one line, unless the store's current model loads (allowed types
    only): a server must not start on a model it would not serve. Loaded in a throwaway
    process (``loader.py``), so that the supervisor never keeps scikit-learn in memory."""
    problem = model_problem()
    if problem is not None:
        raise click.ClickException(problem)


def model_problem() -> str | None:
    """Why the current model of the store (SPENDCAST_MODEL_STORE, else SPENDCAST_MODEL_DIR)
    cannot be served, or None if it can."""
    from spendcast.errors import ModelNotFoundError, ModelStoreError, SpendcastError
    from spendcast.model.store import fetch_predictor, open_store
    from spendcast.settings import Settings

    try:
        store = open_store(Settings())
    except ModelStoreError as error:
        return str(error)
    try:
        fetch_predictor(store)
    except (ModelStoreError, ModelNotFoundError) as error:
        return str(error)
    except SpendcastError as error:
        return f"refusing to serve the model in {store.location}: {error}"
    finally:
        store.close()
    return None
