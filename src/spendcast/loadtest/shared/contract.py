"""What both sides of the Locust boundary agree on: file, env, option and user-class names.

The CLI side (``run/``, ``capacity/``, ...) starts
``python -m locust -f [PLAN,]USERS[,SHAPE],RECORDING``: the load plan's shape first for
``--rate``/``--stages`` (``PLAN_LOCUSTFILE``), the users' locustfile(s) (ours,
``SCENARIOS_LOCUSTFILE``, or the user's own), capacity's load shape if any, and always last
``RECORDING_LOCUSTFILE``, which registers the recording hooks and defines no user, so the kit
never depends on which users run. It passes ``--spendcast-*`` options and ``SPENDCAST_*``
variables, and reads the files the Locust side (``locust/``) writes into the run directory;
``report`` reads back what each command wrote. Each name is declared here once; this module
imports nothing of the kit, nor Locust, so either side can import it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

# The locustfiles handed to Locust (run by path, never imported by the CLI side). Their names
# start with ``spendcast_``: Locust imports each under its file name, beside the user's modules.
LOCUSTFILES: Final = Path(__file__).parents[1] / "locust" / "locustfiles"
SCENARIOS_LOCUSTFILE: Final = LOCUSTFILES / "spendcast_scenarios.py"  # users only, no hook
CAPACITY_LOCUSTFILE: Final = LOCUSTFILES / "spendcast_capacity.py"  # the load shape only
RECORDING_LOCUSTFILE: Final = LOCUSTFILES / "spendcast_recording.py"  # the hooks only, always last
# Put first in -f for --rate/--stages: its load shape runs the load plan (and wins over any
# shape of the user's files, Locust taking the first shape it finds).
PLAN_LOCUSTFILE: Final = LOCUSTFILES / "spendcast_load_plan.py"
# ``spendcast ui``: the web UI's "spendcast" tab, arrival rate and run directories; after the
# recording hooks (it reads their recording).
UI_LOCUSTFILE: Final = LOCUSTFILES / "spendcast_ui.py"
REPLAY_LOCUSTFILE: Final = LOCUSTFILES / "spendcast_replay.py"  # --replay's users
REPLAY_USER: Final = "ReplayUser"
# The module Locust's own loader runs in a short-lived process to list a locustfile's users.
PROBE_MODULE: Final = "spendcast.loadtest.locust.probe"

# Scenario name -> user class of the scenarios locustfile (closed or open: ``arrival`` puts any
# user class, the kit's or a user's own, on the timetable).
SCENARIO_USERS: Final = {
    "health": "HealthUser",
    "predict": "PredictUser",
    "batch": "BatchPredictUser",
    "mixed": "MixedUser",
}

# Files in a run directory.
RECORDING_FILE: Final = "recording.json"  # written by the Locust side when Locust quits
PROGRESS_FILE: Final = "progress.jsonl"  # one line a second, written by the Locust side
STEPS_FILE: Final = "capacity_steps.jsonl"  # each capacity step, written by the load shape
SUMMARY_FILE: Final = "summary.json"  # written by the CLI side from the recording
REPLAY_FILE: Final = "replay.json"  # --replay: the trace, written by the CLI side
STOP_FILE: Final = "stop.request"  # the CLI side asks the Locust side to end the run now
LOCUST_LOG: Final = "locust.log"  # Locust's own log (a headless run's; ``spendcast ui``: none)
CSV_PREFIX: Final = "locust"  # Locust's CSV files: locust_stats.csv...
HTML_REPORT: Final = "report.html"  # Locust's HTML report
# What each command adds to its directory (``report`` tells the kinds apart by them).
CAPACITY_FILE: Final = "capacity.json"
COMPARISON_FILE: Final = "comparison.json"
PROFILE_FILE: Final = "profile.json"
TREND_FILE: Final = "trend.json"  # spendcast history trend

# Locust command-line options our locustfiles add (``hooks``).
OUT_OPTION: Final = "--spendcast-out"
DUMP_OPTION: Final = "--spendcast-worker-dump"
THINK_TIME_OPTION: Final = "--spendcast-think-time"
LOAD_PLAN_OPTION: Final = "--spendcast-load-plan"  # run.load_plan.LoadPlan as JSON
# Seconds after which a user's load shape is stopped (Locust's -t does not end a shape).
RUN_TIME_OPTION: Final = "--spendcast-run-time"
WARMUP_OPTION: Final = "--spendcast-warmup"  # seconds left out of every figure (--warmup)
RATE_OPTION: Final = "--spendcast-rate"  # spendcast ui: the web form's arrival rate (it/s)
REPLAY_OPTION: Final = "--spendcast-replay"  # the trace's file (REPLAY_FILE)
REPLAY_SPEED_OPTION: Final = "--spendcast-replay-speed"  # a factor, or max

# Environment variables the Locust side reads.
TOKEN_ENV: Final = "SPENDCAST_API_TOKEN"  # noqa: S105 (a variable's name, not a secret)
COOKIE_ENV: Final = "SPENDCAST_COOKIE"
THINK_TIME_ENV: Final = "SPENDCAST_LOADTEST_THINK_TIME"
DUMP_ENV: Final = "SPENDCAST_LOADTEST_WORKER_DUMP"
PLAN_ENV: Final = "SPENDCAST_CAPACITY_PLAN"  # the capacity search's plan, as JSON
UI_SESSION_ENV: Final = "SPENDCAST_UI_SESSION"  # spendcast ui: ui.session.UiSession as JSON
# spendcast ui: the live figures (docs/summary-format.md), on the web UI's port.
STATS_PATH: Final = "/spendcast/stats"
# Set (to the SLOs' percentiles, "99.9,97.5", maybe none) by --abort-on-fail: progress lines
# then carry the total, names with several methods, max/min/mean and those percentiles.
LIVE_SLO_ENV: Final = "SPENDCAST_LIVE_SLO_PERCENTILES"


def option_dest(option: str) -> str:
    """The attribute Locust's parsed options hold an option under: ``--a-b`` -> ``a_b``."""
    return option.removeprefix("--").replace("-", "_")
