"""One worker following the model store's current version, off the request path.

Each poll reads the current version (one small read); only a version not served yet is read
whole and loaded (``store.fetch_predictor``). What goes wrong never stops serving:

- the store out of reach: the loaded model keeps serving; ``store_ok`` is false until a read
  succeeds again;
- a current version that does not load (missing, altered, refused): the loaded model keeps
  serving, ``problem`` says why, and that version is tried again after a delay doubling from
  one poll interval to ``MAX_RETRY_SECONDS`` (a broken pointer costs a read now and then, not
  a loader process every poll). Another version becoming current is tried at once.

A worker starting while the current version is broken serves the most recently current one
that loads, and while the store is out of reach the newest local copy (``last_good_predictor``):
a worker's restart never stops a server that was serving.
"""

from __future__ import annotations

import logging
import time
from typing import Final

from spendcast.errors import ModelError, ModelStoreError
from spendcast.model.predictor import Predictor
from spendcast.model.store import ModelStore, fetch_predictor, last_good_predictor

logger = logging.getLogger(__name__)

MAX_RETRY_SECONDS: Final = 30.0


class ModelFollower:
    """Which model one worker should serve next; its methods block (run them in a thread)."""

    def __init__(self, store: ModelStore, poll_seconds: float) -> None:
        self.store = store
        self.poll_seconds = poll_seconds
        self.store_ok = True
        self.current: str | None = None  # the store's current version, as last read
        self.problem: str | None = None  # why the current version is not the one served
        self._retry_version: str | None = None
        self._retry_at = 0.0
        self._retry_delay = 0.0

    def first(self) -> Predictor:
        """The model to start with; ``ModelError`` (and the worker does not start) when no
        version of the store loads or the store cannot be read."""
        predictor, problem = last_good_predictor(self.store)
        try:
            self.current = self.store.current()
        except ModelError as error:  # out of reach: started on a local copy
            self._store_failed(error)
        if problem is not None and self.store_ok:
            self.problem = f"current model {self.current} not served: {problem}"
            logger.error("%s; serving %s", self.problem, predictor.version)
        return predictor

    def next(self, served: str) -> Predictor | None:
        """The current version's predictor when it is not ``served`` and loads now, else None."""
        try:
            current = self.store.current()
        except ModelError as error:  # ModelStoreError, or a CURRENT file not holding a version
            self._store_failed(error)
            return None
        if not self.store_ok:
            logger.info("model store %s reachable again", self.store.location)
        self.store_ok, self.current = True, current
        if current is None or current == served:
            self.problem, self._retry_version = None, None
            return None
        if current == self._retry_version and time.monotonic() < self._retry_at:
            return None  # ``problem`` still says why
        try:
            predictor = fetch_predictor(self.store, current)
        except ModelStoreError as error:
            self._store_failed(error)
            return None
        except ModelError as error:
            self._version_failed(current, error)
            return None
        self.problem, self._retry_version = None, None
        return predictor

    def _store_failed(self, error: ModelError) -> None:
        if self.store_ok:
            logger.error("cannot read the model store (still serving the loaded model): %s", error)
        self.store_ok = False

    def _version_failed(self, version: str, error: ModelError) -> None:
        if version != self._retry_version:
            self._retry_version, self._retry_delay = version, self.poll_seconds
        else:
            self._retry_delay = min(self._retry_delay * 2, MAX_RETRY_SECONDS)
        self._retry_at = time.monotonic() + self._retry_delay
        self.problem = f"current model {version} not served: {error}"
        logger.error("%s (tried again in %.3g s)", self.problem, self._retry_delay)
