"""The verdict on synthetic figures: each bottleneck, its evidence and what to try."""

from __future__ import annotations

from dataclasses import replace

from spendcast.loadtest.diagnosis.evidence import little
from spendcast.loadtest.diagnosis.figures import (
    Diagnosis,
    Function,
    KneeSamples,
    StepFigures,
    Use,
    WaitingStack,
)
from spendcast.loadtest.diagnosis.verdict import diagnose, knee_of


def server(cpu: float, queued: float = 0.0, pid: int = 10) -> Use:
    return Use(pid=pid, name="python", cpu_percent=cpu, queued_percent=queued)


def locust(cpu: float) -> Use:
    return Use(pid=20, name="python", cpu_percent=cpu)


def steps(server_cpu: float, locust_cpu: float = 20.0, error_rate: float = 0.0,
          workers: int = 1) -> list[StepFigures]:  # fmt: skip
    """1 user: 50 req/s at 20 ms; 2 users: the same throughput at twice the latency (flat)."""
    uses = tuple(server(server_cpu, pid=10 + i) for i in range(workers))
    held = StepFigures(1, 1, "holds", 50.0, 0.0, 25.0, 20.0, 1, (server(server_cpu / 2),),
                       (locust(locust_cpu / 2),), 80.0)  # fmt: skip
    flat = StepFigures(2, 2, "flat", 51.0, error_rate, 60.0, 39.0, 2, uses, (locust(locust_cpu),),
                       120.0)  # fmt: skip
    return [held, flat]


def test_a_saturated_worker_with_an_idle_core_is_server_cpu_and_more_workers() -> None:
    hot = Function("burn", "app.py", 12, 0.8)
    samples = KneeSamples(seconds=3, busy=290, waiting=10, application=(hot,), hot=hot,
                          on_cpu=(hot,))  # fmt: skip
    found = diagnose(steps(97.0), mode="users", cores=2, samples=samples)
    assert found.bottleneck == "server-cpu"
    assert found.confidence == "high"
    assert found.knee_step == 2
    assert any("97 % of a core" in line for line in found.evidence)
    assert any("--workers 2" in line for line in found.what_to_try)
    assert any("burn (app.py:12)" in line and "80 %" in line for line in found.what_to_try)
    assert found.top_functions == (hot,)


def test_cpu_queued_on_a_busy_machine_counts_as_wanted() -> None:
    figures = steps(30.0)
    figures[1] = replace(figures[1], server=(server(30.0, queued=65.0),))
    found = diagnose(figures, mode="users", cores=2)
    assert found.bottleneck == "server-cpu"
    assert any("65 % queued for a CPU" in line for line in found.evidence)


def test_all_workers_together_at_the_cores_is_server_cpu_without_more_workers() -> None:
    found = diagnose(steps(90.0, workers=2), mode="users", cores=2)
    assert found.bottleneck == "server-cpu"
    assert not any("--workers" in line for line in found.what_to_try)


def test_low_cpu_and_flat_throughput_is_waiting_and_names_the_stack() -> None:
    wait = Function("hold_lock", "app.py", 40, 0.97)
    samples = KneeSamples(seconds=3, busy=5, waiting=295, waiting_functions=(wait,),
                          application=(wait,), hot=wait,
                          waiting_stacks=(WaitingStack(("hold_lock (app.py:40)",
                                                        "handle (app.py:60)"), 0.9),))  # fmt: skip
    found = diagnose(steps(4.0), mode="users", cores=2, samples=samples)
    assert found.bottleneck == "server-waiting"
    assert found.confidence == "high"
    assert found.top_functions == (wait,)
    assert any("hold_lock (app.py:40)" in line for line in found.what_to_try)
    # 51 req/s × the 20 ms of the lightest step: one request at a time, as a lock.
    assert any("about 1.0 requests at once" in line for line in found.what_to_try)


def test_an_unobservable_server_is_waiting_with_low_confidence() -> None:
    figures = [replace(step, server=None) for step in steps(0.0)]
    found = diagnose(figures, mode="users", cores=2)
    assert (found.bottleneck, found.confidence) == ("server-waiting", "low")
    assert any("not observable" in line for line in found.evidence)


def test_a_saturated_locust_is_the_load_generator_and_its_users_idle() -> None:
    figures = steps(40.0, locust_cpu=98.0)
    # The users spend half their time waiting for Locust's CPU: Little's law does not hold.
    figures[1] = replace(figures[1], mean_ms=19.0)
    found = diagnose(figures, mode="users", cores=2)
    assert found.bottleneck == "load-generator"
    assert any("--processes" in line for line in found.what_to_try)
    assert any("outside requests" in line for line in found.evidence)


def test_a_busy_locust_whose_users_idle_outside_requests_is_the_load_generator() -> None:
    figures = steps(40.0, locust_cpu=70.0)
    figures[1] = replace(figures[1], mean_ms=25.0)  # 51 req/s × 25 ms: 1.3 of 2 users busy
    assert diagnose(figures, mode="users", cores=2).bottleneck == "load-generator"
    figures[1] = replace(figures[1], generator=(locust(30.0),))  # an idle Locust: think time
    assert diagnose(figures, mode="users", cores=2).bottleneck == "server-waiting"


def test_a_locust_wanting_more_cpu_than_the_server_is_the_load_generator() -> None:
    figures = steps(30.0, locust_cpu=70.0)
    assert diagnose(figures, mode="users", cores=2).bottleneck == "load-generator"


def test_late_open_model_iterations_with_free_users_is_the_load_generator() -> None:
    figures = [replace(s, sent=1000, late=200, dropped=10, max_in_flight=3, users=40)
               for s in steps(30.0, locust_cpu=60.0)]  # fmt: skip
    found = diagnose(figures, mode="rate", cores=2)
    assert found.bottleneck == "load-generator"
    assert any("210 of 1000" in line for line in found.evidence)


def test_late_iterations_with_every_user_busy_are_the_servers_queue() -> None:
    figures = [replace(s, sent=1000, late=500, max_in_flight=40, users=40)
               for s in steps(97.0)]  # fmt: skip
    assert diagnose(figures, mode="rate", cores=2).bottleneck == "server-cpu"


def test_failures_before_the_server_is_busy_are_errors() -> None:
    found = diagnose(steps(20.0, error_rate=0.3), mode="users", cores=2)
    assert found.bottleneck == "errors"
    assert any("30.0 % of the requests failed" in line for line in found.evidence)


def test_no_step_that_breaks_is_none() -> None:
    held = [replace(s, verdict="holds") for s in steps(30.0)]
    found = diagnose(held, mode="users", cores=2)
    assert found.bottleneck == "none"
    assert knee_of(held) is None
    assert found.knee_step is None


def test_little_reads_the_law_in_words() -> None:
    step = steps(10.0)[1]
    assert little(step, "users") is not None
    assert "≈ 2 users (consistent)" in str(little(step, "users"))


def test_a_diagnosis_round_trips_through_json() -> None:
    hot = Function("burn", "app.py", 12, 0.8)
    samples = KneeSamples(seconds=3, busy=290, waiting=10, application=(hot,), hot=hot,
                          on_cpu=(hot,),
                          waiting_stacks=(WaitingStack(("a (b.py:1)",), 1.0),))  # fmt: skip
    found = diagnose(steps(97.0), mode="users", cores=2, samples=samples)
    again = Diagnosis.from_json(found.to_json())
    assert again == found
    assert found.to_json()["top_functions"][0] == {"function": "burn", "file": "app.py",
                                                   "line": 12, "share": 0.8}  # fmt: skip
