"""The verdict: which side stops the load, from the figures watched during the steps.

Pure logic, no I/O. The knee is the lowest step that broke an SLO or stopped adding
throughput; its figures decide, in this order:

1. ``errors``: ``ERROR_RATE`` of the requests or more failed at the knee, the server short of
   a full core (it refuses before it is busy; failures answered at once can then saturate
   Locust too: errors come first);
2. ``load-generator``: a Locust process at ``FULL_CPU`` % of a core or more, or at ``ROOM_CPU``
   while the closed model's users spend ``LITTLE_GAP`` of their time outside requests (Little's
   law: they wait for the generator's CPU) or wanting 1.5 times the CPU of the busiest server
   process, or the open model's iterations late/dropped
   (``LATE_SHARE`` of those sent) while users were free; the server short of a full core or
   using less CPU than Locust (a saturated generator makes the server's figures suspect). A
   process "at" a share of a core counts the time it waited in the run queue for a CPU too:
   on a busy machine that is CPU it wanted;
3. ``server-cpu``: a server process at ``FULL_CPU`` % of a core or more, or all of them together
   at that share of the machine's cores;
4. ``server-waiting``: the server's CPU below that (a lock, a pool, a queue, I/O, a downstream
   call), named by the knee's waiting stack when py-spy sampled it; also the answer, with low
   confidence, when the server cannot be observed;
5. ``none``: no step broke nor went flat (and the generator had room).

Little's law (in flight = throughput × mean latency) checks the closed model's figures: with
no think time each user has one request in flight, so a gap means the users spent time
elsewhere (the generator's CPU). What to try is derived from the same figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from spendcast.loadtest.diagnosis.evidence import (
    LITTLE_GAP,
    growth,
    little,
    little_gap,
    pct,
    sample_lines,
    side_lines,
    used,
)
from spendcast.loadtest.diagnosis.figures import (
    Bottleneck,
    Confidence,
    Diagnosis,
    Function,
    KneeSamples,
    StepFigures,
)

FULL_CPU: Final = 85.0  # % of one core: a process this busy is saturated
ROOM_CPU: Final = 60.0  # % of one core: well below, clearly not the limit
LATE_SHARE: Final = 0.05
ERROR_RATE: Final = 0.01


def knee_of(steps: Sequence[StepFigures]) -> StepFigures | None:
    """The lowest step that broke or went flat; ``None`` when every step held."""
    failed = [s for s in steps if s.verdict != "holds"]
    return min(failed, key=lambda s: s.load) if failed else None


def _below(steps: Sequence[StepFigures], knee: StepFigures) -> StepFigures | None:
    held = [s for s in steps if s.verdict == "holds" and s.load < knee.load]
    return max(held, key=lambda s: s.load) if held else None


def _generator_saturated(knee: StepFigures, mode: str) -> list[str]:
    evidence = []
    busiest = knee.busiest_generator
    if busiest is not None and busiest.demand_percent >= FULL_CPU:
        evidence.append(f"Locust process {used(busiest)} at {knee.load:g}")
    server = knee.busiest_server
    if (
        busiest is not None
        and server is not None
        and not evidence
        and busiest.demand_percent >= ROOM_CPU
        and busiest.demand_percent > 1.5 * server.demand_percent
    ):
        evidence.append(f"Locust process {used(busiest)} wants most of a core, more than "
                        f"the busiest server process ({used(server)})")  # fmt: skip
    gap = little_gap(knee)
    if (
        mode == "users"
        and gap is not None
        and gap >= LITTLE_GAP
        and busiest is not None
        and busiest.demand_percent >= ROOM_CPU
        and not evidence
    ):
        evidence.append(f"Locust process {used(busiest)} while its users spent "
                        f"{pct(100 * gap)} of their time outside requests")  # fmt: skip
    if mode == "rate" and knee.sent:
        behind = (knee.late or 0) + (knee.dropped or 0)
        free = knee.max_in_flight is None or knee.max_in_flight < knee.users
        if behind >= LATE_SHARE * knee.sent and free:
            evidence.append(f"{behind} of {knee.sent} open-model iterations late or dropped "
                            f"while at most {knee.max_in_flight} of {knee.users} users were "
                            "busy")  # fmt: skip
    return evidence


def _generator_busier(step: StepFigures) -> bool:
    """Both sides want a full core (a busy machine): the one that used more CPU is the limit."""
    generator, server = step.busiest_generator, step.busiest_server
    return generator is not None and (server is None or
                                      generator.cpu_percent > server.cpu_percent)  # fmt: skip


def _server_saturated(knee: StepFigures, cores: int | None) -> str | None:
    busiest = knee.busiest_server
    if busiest is None or knee.server is None:
        return None
    if busiest.demand_percent >= FULL_CPU:
        return f"server process {used(busiest)}: it wants a full core"
    total = sum(u.demand_percent for u in knee.server)
    if cores and len(knee.server) > 1 and total >= FULL_CPU * cores:
        return f"the server's {len(knee.server)} processes at {pct(total)} of {cores} cores"
    return None


def _concurrency(steps: Sequence[StepFigures], knee: StepFigures) -> float | None:
    """Requests the server works on at once at the knee: its throughput × the latency of the
    lightest step (a request's own service time, no queue)."""
    lightest = min(steps, key=lambda s: s.load)
    if lightest.mean_ms is None or knee.rps <= 0:
        return None
    return knee.rps * lightest.mean_ms / 1000.0


def diagnose(
    steps: Sequence[StepFigures],
    *,
    mode: str,
    cores: int | None,
    samples: KneeSamples | None = None,
    server_source: str = "not observable",
) -> Diagnosis:
    """The verdict on a search's (or a run's) steps; ``samples`` from the knee if taken."""
    knee = knee_of(steps)
    top = max(steps, key=lambda s: s.load) if steps else None
    checked = knee or top
    if checked is None:
        return Diagnosis("none", "low", ("no step was measured",), (), server_source=server_source)
    evidence: list[str] = []
    generator = _generator_saturated(checked, mode)
    server_full = _server_saturated(checked, cores)
    bottleneck: Bottleneck
    confidence: Confidence = "high"
    if knee is not None and knee.error_rate >= ERROR_RATE and server_full is None:
        bottleneck = "errors"
        evidence.append(f"{100 * knee.error_rate:.1f} % of the requests failed at {knee.load:g} "
                        f"({knee.rps:,.1f} req/s)")  # fmt: skip
        below = _below(steps, knee)
        if below is not None:
            evidence.append(f"{100 * below.error_rate:.1f} % at {below.load:g}, the step below")
    elif generator and (server_full is None or _generator_busier(checked)):
        bottleneck = "load-generator"
        evidence += generator
    elif knee is None:
        top_text = f"every step held, up to {checked.load:g} ({checked.rps:,.1f} req/s)"
        return Diagnosis("none", "high", (top_text, *side_lines(checked)),
                         ("offer more load: a higher --start, --max-steps or --max-users",),
                         None, (), server_source, samples, tuple(steps))  # fmt: skip
    elif server_full is not None:
        bottleneck = "server-cpu"
        evidence.append(server_full)
    else:
        bottleneck = "server-waiting"
        if knee.server is None:
            confidence = "low"
            why = ("not local, no process_* metrics" if server_source == "not observable"
                   else "not read during the step")  # fmt: skip
            evidence.append(f"the server's CPU is not observable ({why}): its CPU cannot be "
                            "ruled out")  # fmt: skip
        else:
            evidence.append(
                f"the server's CPU well below a core: {pct(knee.server_cpu or 0)} "
                f"in all, {pct(knee.busiest_server.cpu_percent)} at most in one "
                "process"
                if knee.busiest_server
                else "no server process found"
            )
    assert checked is not None
    if (trend := growth(_below(steps, checked), checked)) is not None:
        evidence.append(trend)
    evidence += side_lines(checked)
    if (law := little(checked, mode)) is not None:
        evidence.append(law)
    confidence = _confidence(bottleneck, confidence, checked, samples)
    if samples is not None:
        evidence += sample_lines(samples)
    tried = _what_to_try(bottleneck, checked, steps, cores, samples)
    return Diagnosis(bottleneck, confidence, tuple(evidence), tuple(tried), checked.index,
                     _top(bottleneck, samples), server_source, samples, tuple(steps))  # fmt: skip


def _confidence(
    bottleneck: Bottleneck, given: Confidence, knee: StepFigures, samples: KneeSamples | None
) -> Confidence:
    if given == "low":
        return given
    share = None if samples is None else samples.on_cpu_share
    if bottleneck == "server-cpu" and share is not None and share < 0.5:
        return "medium"  # the samples wait more than they compute
    if bottleneck == "server-waiting":
        busiest = knee.busiest_server
        if busiest is not None and busiest.demand_percent >= ROOM_CPU:
            return "medium"
        if share is not None and share >= 0.5:
            return "medium"
    if bottleneck == "errors" and knee.verdict == "flat":
        return "medium"
    return given


def _top(bottleneck: Bottleneck, samples: KneeSamples | None) -> tuple[Function, ...]:
    if samples is None:
        return ()
    if bottleneck == "server-waiting" and samples.waiting_functions:
        return samples.waiting_functions
    return samples.on_cpu or samples.waiting_functions


def _what_to_try(
    bottleneck: Bottleneck,
    knee: StepFigures,
    steps: Sequence[StepFigures],
    cores: int | None,
    samples: KneeSamples | None,
) -> list[str]:
    tried = []
    hot = None if samples is None else samples.hot
    if bottleneck == "load-generator":
        busiest = knee.busiest_generator
        server = knee.server_cpu
        room = "" if server is None else f" (the server used {pct(server)} of a core)"
        tried.append(f"more load generation: spendcast loadtest --processes N, or Locust workers "
                     f"on another machine (docs/distributed.md){room}"
                     + ("" if busiest is None else f"; Locust's busiest process was at "
                        f"{pct(busiest.demand_percent)}"))  # fmt: skip
    elif bottleneck == "errors":
        tried.append(f"read the server's failures at {knee.load:g}: it refuses requests while "
                     f"its CPU is at {pct(knee.server_cpu or 0)} (a connection or concurrency "
                     "limit, a rate limiter, a timeout downstream)")  # fmt: skip
    elif bottleneck == "server-cpu":
        busy = [u for u in knee.server or () if u.demand_percent >= FULL_CPU]
        idle = None if knee.machine_cpu_percent is None or not cores else (
            max(0.0, cores - knee.machine_cpu_percent / 100))  # fmt: skip
        if cores and len(busy) < cores:
            spare = "" if idle is None else f", {idle:.1f} of {cores} cores idle"
            tried.append(f"more workers (--workers {cores}): {len(busy)} server process(es) "
                         f"saturated on a {cores}-core machine{spare}")  # fmt: skip
        if hot is not None:
            tried.append(f"make {hot.label()} cheaper: it is in {pct(100 * hot.share)} of the "
                         "samples")  # fmt: skip
        elif samples is not None and samples.on_cpu:
            first = samples.on_cpu[0]
            tried.append(f"the hottest function on the CPU: {first.label()}, "
                         f"{pct(100 * first.share)} of its samples")  # fmt: skip
    elif bottleneck == "server-waiting":
        at_once = _concurrency(steps, knee)
        if samples is not None and samples.waiting_stacks:
            tried.append("requests wait in " + "; and in ".join(
                w.label() for w in samples.waiting_stacks[:2])
                + ": widen or remove the lock, pool or call they name")  # fmt: skip
        if at_once is not None:
            tried.append(f"the server works on about {at_once:.1f} requests at once "
                         f"({knee.rps:,.1f} req/s × the lightest step's latency): a lock or "
                         "a pool of that size, or a downstream limit")  # fmt: skip
        if hot is not None:
            tried.append(f"{hot.label()} is in {pct(100 * hot.share)} of the samples")
    return tried
