"""``spendcast ui`` inside Locust's web UI: the "spendcast" tab, its JSON and the arrival rate.

Registered by ``locustfiles/spendcast_ui.py``, after the recording hooks, in the process that
serves the page (the only process, or the master). Locust's page is left as it is; the kit
adds, through Locust's own extension points:

- a tab **spendcast** (``extended_tabs``/``extended_tables``; its rows ride along Locust's
  ``/stats/requests`` poll as ``extended_stats``): the figures of ``ui_figures.document``;
- ``GET /spendcast/stats``: that document as JSON; ``/spendcast/runs/<dir>/<file>``: the
  saved runs' files;
- ``--spendcast-rate``, a custom parameter of Locust's start and edit forms: the arrival
  rate (iterations/s) of the open model, the users being its pool; empty: the closed model.
  Each ``/swarm`` the page posts (a start, or an edit while running) is checked first (a bad
  rate: the form shows the message) and then applied (``arrival.share_rate``) and noted;
- per test: a fresh recording at its start, the user count of each second, and at its stop
  the run directory (``ui_runs.save``); Ctrl-C stops a running test first, so it is saved too.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import gevent
from flask import Flask, Response, abort, jsonify, request, send_from_directory
from locust import events
from locust.env import Environment
from locust.runners import STATE_RUNNING, STATE_SPAWNING, WorkerRunner

from spendcast.loadtest.locust import arrival
from spendcast.loadtest.locust.hooks import current_recording
from spendcast.loadtest.locust.ui_figures import LiveState, copy_tallies, document
from spendcast.loadtest.locust.ui_runs import save
from spendcast.loadtest.shared.contract import RATE_OPTION, STATS_PATH, UI_SESSION_ENV, option_dest
from spendcast.loadtest.shared.load_changes import LoadChanges
from spendcast.loadtest.shared.slo import parse_slo
from spendcast.loadtest.shared.ui_session import UiSession

TAB: Final = "spendcast"
LEAD_S: Final = 1.0  # a new timetable's time 0 is this far ahead: the users spawn meanwhile
COLUMNS: Final = [
    ("scope", "Scope"), ("name", "Name"), ("requests", "# Requests"), ("failures", "# Fails"),
    ("rps", "RPS"), ("p50", "p50 (ms)"), ("p90", "p90 (ms)"), ("p95", "p95 (ms)"),
    ("p99", "p99 (ms)"), ("p999", "p99.9 (ms)"), ("max", "Max (ms)"), ("status", "Status"),
]  # fmt: skip
RATE_FIELD: Final = option_dest(RATE_OPTION)

logger = logging.getLogger(__name__)
_live = LiveState()
_log = LoadChanges()


def _listen(hook: Any, listener: Callable[..., Any]) -> None:
    hook.add_listener(listener)  # EventHook.add_listener is untyped


def register() -> None:
    _listen(events.init_command_line_parser, _add_options)
    _listen(events.init, _on_init)


def _add_options(parser: Any, **_: Any) -> None:
    parser.add_argument(
        RATE_OPTION,
        default="",
        help="Arrival rate (iterations/s): the open model, the users are its pool; empty: "
        "closed (each user loops)",
    )


def parse_rate(text: str) -> float | None:
    """The form's rate: ``None`` when empty; ``ValueError`` (one line) unless a number >= 0."""
    text = text.strip()
    if not text:
        return None
    try:
        rate = float(text)
    except ValueError:
        raise ValueError(f"arrival rate {text!r}: a number of iterations/s, e.g. 50") from None
    if not 0 <= rate < math.inf:
        raise ValueError(f"arrival rate {text!r}: 0 or more iterations/s")
    return rate


def _on_init(environment: Environment, **_: Any) -> None:
    web = environment.web_ui
    text = os.environ.get(UI_SESSION_ENV)
    if web is None or text is None or isinstance(environment.runner, WorkerRunner):
        return
    session = UiSession.from_json(text)
    _live.slos = tuple(parse_slo(expression) for expression in session.slos)
    web.template_args["extended_tabs"] = [{"title": TAB, "key": TAB}]
    web.template_args["extended_tables"] = [
        {"key": TAB, "structure": [{"key": key, "title": title} for key, title in COLUMNS]}
    ]
    app: Flask | None = web.app
    assert app is not None

    def spendcast_stats() -> Response:
        return jsonify(document(current_recording(), _live, time.time()))

    def spendcast_run_file(name: str, file: str) -> Response:
        if not any(Path(run).name == name for run in _live.runs):
            abort(404)
        return send_from_directory(Path(session.runs_dir).resolve() / name, file)

    def check_rate() -> Response | None:
        if request.path.endswith("/swarm") and request.method == "POST":
            try:
                parse_rate(request.form.get(RATE_FIELD, ""))
            except ValueError as error:
                return jsonify({"success": False, "message": str(error), "host": environment.host})
        return None

    def spendcast_rows(response: Response) -> Response:
        if request.path.endswith("/swarm") and request.method == "POST":
            _on_edit(environment)
        elif request.path.endswith("/stats/requests") and response.is_json:
            rows = _rows(document(current_recording(), _live, time.time()))
            data = response.get_json()
            if isinstance(data, dict):
                data["extended_stats"] = [{"key": TAB, "data": rows}]
                response.set_data(json.dumps(data))
        return response

    app.add_url_rule(STATS_PATH, view_func=spendcast_stats)
    app.add_url_rule("/spendcast/runs/<name>/<path:file>", view_func=spendcast_run_file)
    app.before_request(check_rate)
    app.after_request(spendcast_rows)
    _listen(environment.events.test_start, lambda **_: _on_test_start(environment))
    _listen(environment.events.test_stop, lambda **_: _on_test_stop(environment, session))
    _listen(environment.events.reset_stats, _on_reset)
    _listen(environment.events.quitting, lambda **_: _on_quitting(environment))
    gevent.spawn(_each_second, environment)


def _asked(environment: Environment) -> tuple[int, float | None]:
    options = environment.parsed_options
    users = int(getattr(options, "num_users", 0) or 0)
    return users, parse_rate(str(getattr(options, RATE_FIELD, "") or ""))


def _on_test_start(environment: Environment) -> None:
    runner = environment.runner
    assert runner is not None
    now = time.time()
    recording = current_recording()
    recording.restart(now)
    users, rate = _asked(environment)
    _live.state, _live.rate, _live.users = "running", rate, 0
    _live.baseline, _live.reset_at = {}, None
    _log.start(now, users, rate)
    origin = now + LEAD_S if rate is not None else now
    if rate is not None:
        recording.plan_started_at = origin
    arrival.share_rate(runner, rate, origin, new_test=True)


def _on_edit(environment: Environment) -> None:
    """A ``/swarm`` while the test runs: Locust changes the users, the kit the rate."""
    runner = environment.runner
    if runner is None or runner.state not in (STATE_RUNNING, STATE_SPAWNING):
        return
    if _live.state != "running":
        return  # a start: test_start takes it
    users, rate = _asked(environment)
    now = time.time()
    if _live.rate is not None and rate is None:
        rate = 0.0  # the open model stays open during a test: an empty rate pauses it
    if rate != _live.rate:
        arrival.share_rate(runner, rate, now, new_test=_live.rate is None)
        _live.rate = rate
    _log.change(now, users, rate)


def _on_reset(**_: Any) -> None:
    _live.baseline = copy_tallies(current_recording().endpoints)
    _live.reset_at = time.time()


def _on_test_stop(environment: Environment, session: UiSession) -> None:
    if _live.state != "running":
        return
    _live.state, _live.saving = "stopped", True
    try:
        out_dir = save(environment, current_recording(), _log, session, _live.slos)
        _live.runs.append(str(out_dir))
        logger.info("spendcast: run directory %s", out_dir)
    except Exception:  # the page goes on; the log says why this run has no directory
        logger.exception("spendcast: the run directory could not be written")
    finally:
        _live.saving = False


def _on_quitting(environment: Environment) -> None:
    if _live.state == "running" and environment.runner is not None:
        environment.runner.stop()  # test_stop: every answer counted, the run saved


def _each_second(environment: Environment) -> None:
    while True:
        runner = environment.runner
        now = time.time()
        if runner is not None and _live.state == "running":
            recording = current_recording()
            recording.close_seconds(now - 1)
            recording.users[int(now)] = _live.users = runner.user_count
        gevent.sleep(1.0)


def _rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The tab's rows: each scope's endpoints and total, the SLOs, the open model, the runs."""
    rows = []
    for scope, label in (("since_start", "since start"), ("since_reset", "since reset")):
        figures = doc[scope]
        for row in [*figures["endpoints"], {"method": "", "name": "total", **figures["total"]}]:
            latency = row["latency_ms"]
            rows.append({
                "scope": label, "name": f"{row['method']} {row['name']}".strip(),
                "requests": row["requests"], "failures": row["failures"], "rps": row["rps"],
                "p50": latency["p50"], "p90": latency["p90"], "p95": latency["p95"],
                "p99": latency["p99"], "p999": latency["p99_9"], "max": latency["max"],
                "status": "",
            })  # fmt: skip
    for slo in doc["slos"]:
        verdict = "held" if slo["passed"] else "BREACHED"
        rows.append({"scope": "SLO", "name": slo["expression"],
                     "status": f"{verdict} (observed {slo['observed_text']})"})  # fmt: skip
    if (model := doc["open_model"]) is not None:
        rate = "paused" if not model["rate"] else f"rate {model['rate']:g} it/s"
        rows.append({"scope": "open model", "name": rate,
                     "status": f"offered {model['offered']}, late {model['late']}, "
                               f"dropped {model['dropped']}"})  # fmt: skip
    if doc["state"] == "running" or doc["saving"]:
        rows.append({"scope": "run directory", "name": "written when the test stops",
                     "status": "saving" if doc["saving"] else "recording"})  # fmt: skip
    for run in reversed(doc["runs"]):
        rows.append({"scope": "run directory", "name": run,
                     "status": f"/spendcast/runs/{Path(run).name}/summary.json"})  # fmt: skip
    return rows
