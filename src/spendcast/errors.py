"""Domain exceptions, mapped to HTTP once (in ``api/errors.py``) and to exit codes in the CLI.

SpendcastError
├── ModelError
│   ├── ModelNotFoundError      no trained model in the model directory (run `spendcast train`)
│   ├── UntrustedModelError     a type outside model/artifact.py's allow-list; refused unloaded
│   ├── UnsupportedModelError   a pipeline the fast predictor cannot compile
│   └── ModelStoreError         the model store (a directory, PostgreSQL) cannot be reached
├── InputError                  a request the API refuses (mapped to 4xx)
│   └── BatchTooLargeError      more rows than SPENDCAST_BATCH_LIMIT (413)
├── RecorderError               the inference log cannot be opened or written
│   ├── InferenceNotKept        a row could be kept neither in the journal nor in memory;
│   │                           nothing was recorded (mapped to 503 + Retry-After)
│   └── DatabaseFileChanged     the SQLite file was deleted or replaced under open connections
├── ListenError                 the HTTP server cannot listen on its address
└── LoadTestError               a load test (or a command built on it) could not run
    ├── SloSyntaxError          an SLO expression off the grammar (also a ValueError)
    ├── RunConfigError          a run configuration that makes no sense (a plan with users...)
    ├── LocustfileError         a -f locustfile missing, failing to import, without the users asked
    ├── ServerStartError        a server command exited or never answered its readiness check
    ├── ProfileError            py-spy is missing, could not attach, or wrote no sample
    ├── ReportError             a directory that holds no run, capacity, comparison or profile
    └── HistoryError            the run history store cannot be reached, or a newer one
"""

from __future__ import annotations


class SpendcastError(Exception):
    """Base of every error spendcast raises on purpose."""


class ModelError(SpendcastError):
    pass


class ModelNotFoundError(ModelError):
    pass


class UntrustedModelError(ModelError):
    pass


class UnsupportedModelError(ModelError):
    pass


class ModelStoreError(ModelError):
    """The model store cannot be read or written now; what is loaded keeps serving."""


class InputError(SpendcastError):
    status_code = 400


class BatchTooLargeError(InputError):
    status_code = 413


class RecorderError(SpendcastError):
    pass


class InferenceNotKept(RecorderError):
    """``record()`` kept none of the rows it was given: the caller must not answer 200."""


class DatabaseFileChanged(RecorderError):
    """What was just written went to a SQLite file no longer at the database's path."""


class ListenError(SpendcastError):
    """``spendcast serve`` cannot bind its address (in use, not ours, unknown host)."""


class LoadTestError(SpendcastError):
    """The run itself failed: host unreachable, Locust crashed, or no request completed."""


class SloSyntaxError(LoadTestError, ValueError):
    """An SLO expression that does not follow the grammar; the message says what to write."""


class RunConfigError(LoadTestError, ValueError):
    """A run configuration that cannot be built: a replay on a master's workers, a think time
    under the open model... ``rule`` says which (``loadtest/run/config_rules.Rule``, for the CLI
    to say it in its flags), ``values`` what was given; the message is in the run's words."""

    def __init__(self, rule: object, message: str, values: dict[str, object]) -> None:
        super().__init__(message)
        self.rule = rule
        self.values = values


class LocustfileError(LoadTestError, ValueError):
    """A locustfile Locust cannot run; the message names the file (and line) and the fix."""


class ServerStartError(LoadTestError):
    """The server exited or never answered its readiness check."""


class ProfileError(LoadTestError):
    """py-spy is missing, could not attach to the server, or wrote no sample."""


class ReportError(LoadTestError):
    """A directory given to the report is not a run, capacity, comparison or profile directory."""


class HistoryError(LoadTestError):
    """The history store cannot be opened, read or written, or a newer spendcast wrote it."""
