"""The end of a distributed run: every worker hands its last latencies to the master.

Locust workers report every few seconds, and on ``quit`` the master only waits half a second
for their last report: the latencies of the final seconds (and of requests still in flight)
could be lost. So, when the test stops, the master sends each worker ``spendcast_stop``; the
worker stops its users (they finish their request in flight), then answers ``spendcast_final``
with everything it recorded since its last report. The master waits for every live worker
before it writes the recording, so the merged histograms hold every request exactly once.

A worker started with ``--spendcast-worker-dump DIR`` also writes all it recorded to
``DIR/worker-<client id>.json`` (the ``recording.json`` format), to check the merge.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import Any, Final

import gevent
import gevent.event
from locust.env import Environment
from locust.rpc import Message
from locust.runners import STATE_MISSING, MasterRunner, WorkerRunner

from spendcast.loadtest.shared.recording import Recording

STOP_MESSAGE: Final = "spendcast_stop"
FINAL_MESSAGE: Final = "spendcast_final"
EXTRA_WAIT_S: Final = 30.0  # beyond --stop-timeout: network, a busy machine

logger = logging.getLogger(__name__)


class WorkerHandoff:
    """A worker's side: drain for each report, stop and send the rest when the master asks."""

    def __init__(self, recording: Recording, dump_dir: Path | None) -> None:
        self.recording = recording
        self.dump_dir = dump_dir
        self.sent = Recording() if dump_dir is not None else None  # all this worker reported

    def attach(self, runner: WorkerRunner) -> None:
        runner.register_message(STOP_MESSAGE, self._on_stop, concurrent=True)

    def drain(self, now: float | None) -> dict[str, Any]:
        data = self.recording.drain(now)
        if self.sent is not None:
            self.sent.absorb(data)
        return data

    def _on_stop(self, environment: Environment, msg: Message, **_: Any) -> None:
        runner = environment.runner
        assert isinstance(runner, WorkerRunner)
        runner.stop()  # returns once every user finished its request in flight
        data = self.drain(None)
        runner.send_message(FINAL_MESSAGE, data)
        if self.sent is not None and self.dump_dir is not None:
            self.sent.started_at = self.recording.started_at
            self.sent.stopped_at = time.time()
            self.dump_dir.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9_.-]", "_", runner.client_id)
            self.sent.write(self.dump_dir / f"worker-{name}.json")


class MasterHandoff:
    """The master's side: ask every live worker for its final recording and wait for it."""

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.pending: set[str] = set()
        self.done = gevent.event.Event()
        self.collected = False

    def attach(self, runner: MasterRunner) -> None:
        runner.register_message(FINAL_MESSAGE, self._on_final)

    def reset(self) -> None:
        self.collected = False

    def collect(self, environment: Environment) -> None:
        """Stop every live worker and absorb its final recording (once per test)."""
        runner = environment.runner
        if self.collected or not isinstance(runner, MasterRunner):
            return
        self.collected = True
        self.pending = {node.id for node in runner.clients.all if node.state != STATE_MISSING}
        if not self.pending:
            return
        self.done.clear()
        for client_id in sorted(self.pending):
            runner.send_message(STOP_MESSAGE, None, client_id=client_id)
        timeout = float(environment.stop_timeout or 0) + EXTRA_WAIT_S
        if not self.done.wait(timeout):
            logger.error(
                "no final report from %d worker(s) within %.0fs: %s (their last seconds are "
                "missing from the results)",
                len(self.pending),
                timeout,
                ", ".join(sorted(self.pending)),
            )

    def _on_final(self, environment: Environment, msg: Message, **_: Any) -> None:
        self.recording.absorb(msg.data or {})
        self.recording.workers.append(str(msg.node_id))
        self.pending.discard(msg.node_id)
        if not self.pending:
            self.done.set()
