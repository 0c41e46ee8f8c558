"""The knee's two py-spy recordings (busy, and with idle threads) turned into shares."""

from __future__ import annotations

from spendcast.loadtest.diagnosis.sampling import classify

PROCESS = 'process 12:"python -m uvicorn app:app"'
LOOP = f"{PROCESS};run (asyncio/runners.py:118);select (selectors.py:468)"
WAIT = (f"{PROCESS};_bootstrap (threading.py:1012);run (concurrent/futures/thread.py:59);"
        "use_slot (myapp/server.py:48);acquire (threading.py:507);"
        "wait (threading.py:355)")  # fmt: skip
BURN = (
    f"{PROCESS};run (asyncio/runners.py:118);handle (myapp/server.py:60);burn (myapp/server.py:33)"
)


def test_idle_samples_in_application_code_are_waiting_the_rest_parked() -> None:
    busy = f"{BURN} 30\n"
    everything = f"{BURN} 30\n{WAIT} 60\n{LOOP} 90\n"
    samples = classify(busy, everything, 3.0)
    assert (samples.busy, samples.waiting, samples.parked) == (30, 60, 90)
    assert samples.on_cpu_share == 30 / 90
    assert samples.on_cpu[0].function == "burn"
    assert samples.on_cpu[0].line == 33
    assert samples.waiting_functions[0].function == "wait"
    # innermost first, up to the application's frame that waits
    assert samples.waiting_stacks[0].frames == (
        "wait (threading.py:355)", "acquire (threading.py:507)", "use_slot (myapp/server.py:48)"
    )  # fmt: skip
    assert samples.waiting_stacks[0].share == 1.0
    assert samples.hot is not None
    assert samples.hot.function == "use_slot"
    assert round(samples.hot.share, 3) == round(60 / 90, 3)


def test_the_innermost_of_the_hot_application_functions_is_named() -> None:
    samples = classify(f"{BURN} 99\n", f"{BURN} 99\n{LOOP} 10\n", 1.0)
    assert samples.hot is not None
    assert samples.hot.function == "burn"  # handle is in as many samples, further out
    assert samples.on_cpu_share == 1.0


def test_stacks_idle_before_the_load_are_parked_and_process_frames_dropped() -> None:
    background = (f"{PROCESS};run (threading.py:1012);_run (myapp/log.py:12);"
                  "wait (threading.py:355)")  # fmt: skip
    split = 'process 13:"python -c import x;main(7)";main (multiprocessing/tracker.py:9)'
    everything = f"{WAIT} 60\n{background} 40\n{split} 40\n"
    parked_before = frozenset({("wait (threading.py:355)", "_run (myapp/log.py:12)")})
    samples = classify("", everything, 2.0, parked_before)
    assert (samples.waiting, samples.parked) == (60, 80)
    assert [w.frames[-1] for w in samples.waiting_stacks] == ["use_slot (myapp/server.py:48)"]
