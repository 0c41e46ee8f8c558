"""Domain exceptions, mapped to HTTP once (in ``api/errors.py``) and to exit codes in the CLI.

SpendcastError
├── ModelError
│   ├── ModelNotFoundError      no trained model in the model directory (run `spendcast train`)
│   ├── UntrustedModelError     the artifact holds types skops does not trust; refused unloaded
│   └── UnsupportedModelError   a pipeline the fast predictor cannot compile
├── InputError                  a request the API refuses (mapped to 4xx)
│   └── BatchTooLargeError      more rows than SPENDCAST_BATCH_LIMIT (413)
└── RecorderError               the inference log cannot be opened or written
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


class InputError(SpendcastError):
    status_code = 400


class BatchTooLargeError(InputError):
    status_code = 413


class RecorderError(SpendcastError):
    pass
