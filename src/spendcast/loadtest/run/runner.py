"""The run primitive: one headless Locust run against a host, as one directory of results.

``run_load(config)`` checks that the host answers, runs ``python -m locust`` as a subprocess
(gevent's monkey-patching stays out of this process; ``--processes`` works) with
``-f [PLAN,]USERS[,SHAPE],RECORDING``: the load plan's shape for ``--rate``/``--stages``, the
users' locustfile (the kit's scenarios, or the user's own checked by
``locustfile.inspect_locustfile``) and the user classes to run, capacity's load shape if any,
and the recording hooks, which measure any user (and put it on the open model's timetable).
It follows the progress, then reads the exact latencies back, checks the SLOs and writes
``summary.json`` and the plots. ``capacity``, ``compare`` and ``profile`` are built on it. It
never imports Locust itself.
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from collections.abc import Callable

from spendcast.errors import LoadTestError
from spendcast.loadtest.run.config import RunConfig
from spendcast.loadtest.run.load import ReplayLoad
from spendcast.loadtest.run.process import last_log_line, run_locust
from spendcast.loadtest.run.result import RunResult
from spendcast.loadtest.shared.contract import RECORDING_FILE, REPLAY_FILE
from spendcast.loadtest.shared.credentials import base_url, public_host
from spendcast.loadtest.shared.progress import Progress
from spendcast.loadtest.shared.run_files import default_out_dir, write_summary


def check_host(host: str, timeout: float = 5.0) -> None:
    """Raise ``LoadTestError`` unless ``host`` answers HTTP (any status counts as an answer).

    The certificate is not verified: the check is never stricter than the users it runs
    (FastHttpUser does not verify, a file may set ``verify=False``); they decide."""
    url = f"{base_url(host)}/health"
    unverified = ssl.create_default_context()
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=unverified):  # noqa: S310
            return
    except urllib.error.HTTPError:
        return  # it answered, even if not with 200 (a proxy's 401, a 404 at /health)
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise LoadTestError(f"host {public_host(host)} does not answer: {reason}") from error


def run_load(config: RunConfig, on_progress: Callable[[Progress], None] | None = None) -> RunResult:
    """Run one load test; raises ``LoadTestError`` when the run itself fails."""
    host = config.target.host
    if not host.startswith(("http://", "https://")):
        raise LoadTestError(f"host {host!r} must start with http:// or https://")
    if config.target.check_host:
        check_host(host)
    replay = config.load if isinstance(config.load, ReplayLoad) else None
    stem = config.label if replay else config.users.stem
    out_dir = (config.output.out_dir or default_out_dir(stem)).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    if replay is not None:
        replay.trace.write(out_dir / REPLAY_FILE)
    code, abort = run_locust(config, out_dir, on_progress)
    recording_path = out_dir / RECORDING_FILE
    if code < 0 or not recording_path.exists():  # killed, or it never ran its test
        raise LoadTestError(f"Locust failed (exit code {code}): {last_log_line(out_dir)}")
    summary, recording = write_summary(
        out_dir, config.public(), config.plan, config.gates.slos, abort,
        plots=config.output.plots, slice_s=config.window.slice_s, locust_exit_code=code,
    )  # fmt: skip
    if summary.total.requests == 0:
        # Locust's own reason first (a worker with another file, a file's error) when it failed
        reason = f": Locust exited with code {code}: {last_log_line(out_dir)}" if code else ""
        raise LoadTestError(f"no request completed against {public_host(host)}{reason}")
    return RunResult(out_dir, summary, recording, abort, code)
