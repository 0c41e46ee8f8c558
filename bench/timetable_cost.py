"""CPU per slot of the open model's timetable (``locust/arrival.py``), in-process, old and new.

    .venv/bin/python -m bench timetable [--baseline REV] [--rounds 5] [--quick]

Two workloads, each run in a gevent process of its own (the timetable imports Locust, which
monkey-patches the process that imports it), no server, no network:

- ``bare``: ``--users`` greenlets call ``TIMETABLE.take()`` in a loop and do nothing else,
  against ``--fast-rate`` slots/s, so every tick holds hundreds of slots: the timetable's own
  Python per slot, in CPU microseconds (``time.process_time``) per slot (users that never
  yield: each slot goes to the user waiting longest, one switch per slot; the timetable of
  before the hand-out, a lock passed from user to user, let its holder take slot after slot);
- ``saturated``: the same, each take followed by the ``sleep(0)`` Locust makes after every
  wait: a user back while its tick still has slots and nobody waits takes one at once;
- ``realistic``: ``--rate`` slots/s for ``--seconds``, each iteration as Locust runs it: the
  ``sleep(0)`` Locust makes after every wait, one ``lateness_ms()`` as the request hook reads
  it, then ``gevent.sleep(--request-ms)`` standing for the request: CPU per slot and gevent
  event-loop iterations per slot (libev's ``loop.iteration``);
- ``paced``: the reference, no timetable: the same users and requests paced as Locust's
  ``constant_throughput(--rate / --users)`` paces them (what ``bench/generator.py`` runs as
  plain Locust). ``paced / realistic`` is then the in-process analogue of the generator's
  "requests per Locust CPU-second, spendcast / plain".

Each run also says how many of its slots a user took without queueing on the timetable's lock
(``unqueued``, the candidate only), and checks that the recording counted every slot.

Each child imports the spendcast this process imports (``--baseline REV``: that revision's, in
the rounds of the other tree, ``bench/baseline.py``; CPU per slot: below 1 is cheaper). The
workloads of a round run one after the other; the figures are median [min-max] over rounds,
and ``paced / realistic`` pairs the runs of each round.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click

from bench.options import shared_options
from bench.report import format_table, spread
from bench.results import Ratio, Results, command_line, spendcast_source

WORKLOADS = ("bare", "saturated", "realistic", "paced")

# Runs in the child process: ``argv[1]`` is a JSON of the workload's parameters.
CHILD = """
import json, sys, time
import gevent
from spendcast.loadtest.locust import arrival
from spendcast.loadtest.locust.arrival import TIMETABLE
from spendcast.loadtest.shared.load_plan import LoadPlan
from spendcast.loadtest.shared.recording import Recording

p = json.loads(sys.argv[1])
recording = TIMETABLE.recording = Recording()
lead = 0.2  # the users queue before the first slot, as after the kit's lead second
origin = time.time() + lead
TIMETABLE.configure(LoadPlan.constant_rate(p["rate"], p["seconds"] + 5, 10_000).schedule(), origin)
workload = p["workload"]
paced = [0]

def user():
    while True:
        TIMETABLE.take()
        if workload != "bare":
            gevent.sleep(0)  # Locust's, after every wait_time()
        if workload == "realistic":
            TIMETABLE.lateness_ms()  # the request hook's
            gevent.sleep(p["request_s"])  # the request

def paced_user(phase):  # Locust's constant_throughput(rate / users), no timetable
    interval = p["users"] / p["rate"]
    gevent.sleep(lead + phase * interval)
    last_run, last_wait = time.time(), 0.0
    while True:
        paced[0] += 1
        gevent.sleep(p["request_s"])  # the request
        run_time = time.time() - last_run - last_wait
        last_wait, last_run = max(0.0, interval - run_time), time.time()
        gevent.sleep(last_wait)

def sent_now():
    return paced[0] if workload == "paced" else TIMETABLE.sent

if workload == "paced":
    users = [gevent.spawn(paced_user, i / p["users"]) for i in range(p["users"])]
else:
    users = [gevent.spawn(user) for _ in range(p["users"])]
gevent.sleep(lead)
loop = gevent.get_hub().loop
cpu, sent, iterations = time.process_time(), sent_now(), loop.iteration
gevent.sleep(p["seconds"])
cpu, sent = time.process_time() - cpu, sent_now() - sent
iterations = loop.iteration - iterations
gevent.killall(users)
arrivals = {"started": 0, "late": 0, "dropped": 0}
for second in recording.arrivals.values():
    for key in arrivals:
        arrivals[key] += getattr(second, key)
print(json.dumps({
    "module": arrival.__file__, "cpu_s": cpu, "slots": sent, "iterations": iterations,
    **TIMETABLE.counters(), "recorded": arrivals, "unqueued": getattr(TIMETABLE, "unqueued", 0),
}))
"""


def _run(src: Path, params: dict[str, Any]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(
        ["nice", "-n", "19", sys.executable, "-c", CHILD, json.dumps(params)],
        check=True, capture_output=True, text=True, env=env, cwd=src.parent,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout)
    if not result["module"].startswith(str(src)):
        raise click.ClickException(f"{src}: the child imported {result['module']}")
    counted = {key: result[key] for key in ("late", "dropped")} | {"started": result["sent"]}
    if params["workload"] != "paced" and result["recorded"] != counted:
        raise click.ClickException(f"{src}: recorded {result['recorded']}, counted {counted}")
    return result


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@shared_options(
    "timetable", rounds=5, quick_rounds=2, quick="0.5 s bare/saturated, 1 s realistic/paced",
    pin="process",
)  # fmt: skip
@click.option("--users", type=int, default=32, show_default=True, help="User greenlets.")
@click.option(
    "--fast-rate",
    type=float,
    default=40_000,
    show_default=True,
    help="Slots/s of the bare and saturated workloads (below what users can take).",
)
@click.option(
    "--fast-seconds",
    type=float,
    default=None,
    help="Measured seconds of the bare and saturated workloads [2; --quick: 0.5].",
)
@click.option(
    "--rate", type=float, default=2000, show_default=True, help="Slots/s of the realistic workload."
)
@click.option(
    "--seconds",
    type=float,
    default=None,
    help="Measured seconds of the realistic and paced workloads [3; --quick: 1].",
)
@click.option(
    "--request-ms",
    type=float,
    default=2.0,
    show_default=True,
    help="What each realistic iteration sleeps, standing for its request.",
)
@click.option("--only", type=click.Choice(WORKLOADS), default=None, help="Run one workload.")
def main(
    quick: bool, rounds: int, pin: bool, out: Path, users: int, fast_rate: float,
    fast_seconds: float | None, rate: float, seconds: float | None, request_ms: float,
    only: str | None,
) -> None:  # fmt: skip
    """CPU per slot of the open model's timetable, in gevent processes of its own."""
    fast_seconds = fast_seconds or (0.5 if quick else 2.0)
    seconds = seconds or (1.0 if quick else 3.0)
    workloads = {
        "bare": {"rate": fast_rate, "seconds": fast_seconds},
        "saturated": {"rate": fast_rate, "seconds": fast_seconds},
        "realistic": {"rate": rate, "seconds": seconds, "request_s": request_ms / 1000},
        "paced": {"rate": rate, "seconds": seconds, "request_s": request_ms / 1000},
    }
    if only is not None:
        workloads = {only: workloads[only]}
    src = spendcast_source()
    results: dict[str, list[dict[str, Any]]] = {}
    for round_ in range(rounds):
        for workload, params in workloads.items():
            run = _run(src, {"workload": workload, "users": users, **params})
            results.setdefault(workload, []).append(run)
            click.echo(
                f"round {round_ + 1} {workload:<9} {_per_slot(run) * 1e6:6.2f} us/slot  "
                f"{run['slots']} slots, late {run['late']}, dropped {run['dropped']}, "
                f"unqueued {run['unqueued']}",
                err=True,
            )
    rows = []
    for workload, runs in results.items():
        cpu = spread([_per_slot(r) * 1e6 for r in runs])
        loops = spread([r["iterations"] / r["slots"] for r in runs])
        late = sum(r["late"] for r in runs)
        dropped = sum(r["dropped"] for r in runs)
        unqueued = sum(r["unqueued"] for r in runs) / max(sum(r["sent"] for r in runs), 1)
        rows.append([workload, cpu.label(), loops.label(3), str(late), str(dropped),
                     f"{unqueued:.0%}"])  # fmt: skip
    header = ["workload", "cpu us/slot", "loop it/slot", "late", "dropped", "unqueued"]
    click.echo(format_table(header, rows))
    ratios: dict[str, Ratio] = {}
    if "realistic" in results and "paced" in results:
        pairs = zip(results["paced"], results["realistic"], strict=True)
        ratios["paced / realistic, cpu per slot"] = Ratio.of(
            [_per_slot(plain) / _per_slot(kit) for plain, kit in pairs]
        )
        ratio = ratios["paced / realistic, cpu per slot"]
        click.echo(f"\npaced / realistic, cpu per slot: {ratio.median:.3f} "
                   f"[{ratio.low:.3f}-{ratio.high:.3f}]")  # fmt: skip
    figures = {
        f"{workload}: cpu us/slot": tuple(round(_per_slot(r) * 1e6, 3) for r in runs)
        for workload, runs in results.items()
    }
    settings = {"users": users, "fast_rate": fast_rate, "fast_seconds": fast_seconds,
                "rate": rate, "seconds": seconds, "request_ms": request_ms}  # fmt: skip
    written = Results("timetable", command_line(), rounds, ratios, figures).write(
        out, {"settings": settings, "runs": results}
    )
    click.echo(f"\nwrote {written}")


def _per_slot(run: dict[str, Any]) -> float:
    return float(run["cpu_s"]) / float(run["slots"])


if __name__ == "__main__":
    main()
