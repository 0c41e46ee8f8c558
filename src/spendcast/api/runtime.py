"""What one worker serves with: the predictor, the recorder, the access log and the metrics.

Built by ``create_app`` without any I/O; ``start``/``stop`` run in the lifespan. The predictor
is swapped by one attribute assignment, so a request sees the old model or the new one, never
a mix: after a ``POST /train`` here at once, in the other workers (and the other replicas
sharing the model store) within ``model_poll_seconds``: see ``model_follower.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from typing import Any

from spendcast.api.access_log import AccessLog
from spendcast.api.metrics import Metrics
from spendcast.api.model_follower import ModelFollower
from spendcast.model.artifact import ModelVersion
from spendcast.model.predictor import Predictor
from spendcast.model.store import fetch_predictor, open_store
from spendcast.monitoring import Recorder, RecorderStats
from spendcast.settings import Settings

logger = logging.getLogger(__name__)

RECORDER_STOP_SECONDS = 30.0


class Runtime:
    """The per-worker state the routes read."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        secret = settings.api_token.get_secret_value() if settings.api_token else ""
        # ASCII: the settings refuse a token that could not be sent in a header.
        self.token: bytes | None = secret.encode("ascii") if secret else None
        self.access_log = AccessLog(settings.log_file, log_format=settings.log_format)
        self._previous_sighup: Any = None
        self.metrics = Metrics()
        self._predictor: Predictor | None = None
        self._recorder: Recorder | None = None
        self._watcher: asyncio.Task[None] | None = None
        self.follower: ModelFollower | None = None
        self._train_lock = asyncio.Lock()

    @property
    def predictor(self) -> Predictor:
        if self._predictor is None:
            raise RuntimeError("the app has not started: use it through its lifespan")
        return self._predictor

    @property
    def recorder(self) -> Recorder:
        if self._recorder is None:
            raise RuntimeError("the app has not started: use it through its lifespan")
        return self._recorder

    def recorder_stats(self) -> RecorderStats | None:
        """The recorder's counters (also copied into the metrics), or None before start."""
        if self._recorder is None:
            return None
        stats = self._recorder.stats()
        self.metrics.set_recorder(stats)
        return stats

    def model_store_status(self) -> dict[str, Any]:
        """What ``/ready`` says of the model store: a problem there never stops serving (the
        loaded model answers), so it is reported, not a reason for a 503."""
        follower = self._follower()
        return {
            "reachable": follower.store_ok,
            "current": follower.current,
            "problem": follower.problem,
        }

    def count_predictions(self, count: int) -> None:
        """Count predictions already recorded: never raises, since their rows exist and the
        request must be answered 200 whatever the metrics store does (the tally is an int;
        ``Metrics.fold`` logs a failure of the store)."""
        self.metrics.count_predictions(count)

    def count_refused(self, count: int) -> None:
        """Count predictions answered 503 (nothing kept); never raises, like count_predictions."""
        self.metrics.count_refused(count)

    async def start(self) -> None:
        """Load the model once, start the recorder, the log writer and the model watcher."""
        self.access_log.start()
        self._reopen_log_on_sighup()
        try:
            store = open_store(self.settings)
            self.follower = ModelFollower(store, self.settings.model_poll_seconds)
            self.swap(await asyncio.to_thread(self.follower.first))
            recorder = Recorder.from_settings(self.settings)
            await asyncio.to_thread(recorder.start)
            self._recorder = recorder
        except BaseException:
            await self.stop()
            raise
        self._watcher = asyncio.create_task(self._watch_model(), name="spendcast-model-watcher")

    async def stop(self) -> None:
        """Stop watching, flush every recorded inference and every log line."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        recorder, self._recorder = self._recorder, None
        try:
            if recorder is not None:
                await asyncio.to_thread(recorder.stop, RECORDER_STOP_SECONDS)
        finally:
            self._restore_sighup()
            self.access_log.stop()
            self.metrics.close()
            if self.follower is not None:
                self.follower.store.close()

    def _reopen_log_on_sighup(self) -> None:
        """SIGHUP reopens the API log (what a logrotate ``postrotate`` sends), instead of
        killing a single-worker server. Only the main thread may install a handler: in a test
        client, the app runs in another thread and the file is still watched."""
        if threading.current_thread() is threading.main_thread():
            self._previous_sighup = signal.signal(
                signal.SIGHUP, lambda signum, frame: self.access_log.reopen()
            )

    def _restore_sighup(self) -> None:
        previous, self._previous_sighup = self._previous_sighup, None
        if previous is not None:
            signal.signal(signal.SIGHUP, previous)

    def swap(self, predictor: Predictor) -> None:
        """Serve ``predictor`` from the next request on."""
        previous = self._predictor.version if self._predictor is not None else None
        self._predictor = predictor
        self.metrics.set_model(predictor.version, previous)
        if previous is not None and previous != predictor.version:
            logger.info("now serving model %s (was %s)", predictor.version, previous)

    async def retrain(self) -> ModelVersion:
        """Train and save a model off the event loop, then serve it in this worker."""
        # Imported here: training pulls in scikit-learn, which serving never needs.
        from spendcast.model.training import train_and_save

        async with self._train_lock:
            trained = await asyncio.to_thread(train_and_save, self.settings)
            store = self._follower().store
            self.swap(await asyncio.to_thread(fetch_predictor, store, trained.version))
            return trained

    def _follower(self) -> ModelFollower:
        if self.follower is None:
            raise RuntimeError("the app has not started: use it through its lifespan")
        return self.follower

    async def _watch_model(self) -> None:
        follower = self._follower()
        while True:
            await asyncio.sleep(self.settings.model_poll_seconds)
            self.recorder_stats()
            if self._train_lock.locked():
                continue  # this worker is training; it swaps when done
            try:
                predictor = await asyncio.to_thread(follower.next, self.predictor.version)
            except Exception:  # a bug, not a store or model fault: log it and keep polling
                logger.exception("could not follow the model store %s", follower.store.location)
                continue
            if predictor is not None:
                self.swap(predictor)
            self.metrics.set_model_store(follower.store_ok, follower.problem is None)
