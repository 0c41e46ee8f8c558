"""The alarm clock the open model's hand-outs ring on, on gevent's loop in this process."""

from __future__ import annotations

import os
import sys
import time

import gevent
import pytest

from spendcast.loadtest.locust import alarm as alarm_module
from spendcast.loadtest.locust.alarm import Alarm


def _ringing() -> tuple[Alarm, list[float]]:
    """An alarm that notes when it rang, and stays quiet until set again."""
    rings: list[float] = []

    def ring() -> None:
        rings.append(time.time())
        alarm.cancel()

    alarm = Alarm(ring)
    return alarm, rings


def _until_rung(rings: list[float], count: int) -> None:
    deadline = time.monotonic() + 30  # a hang guard only: a stalled machine rings late
    while len(rings) < count and time.monotonic() < deadline:
        gevent.sleep(0.01)


def test_it_rings_once_never_before_the_time_last_set() -> None:
    alarm, rings = _ringing()
    try:
        assert alarm.precise == sys.platform.startswith("linux")
        at = time.time() + 0.05
        alarm.set(time.time() + 60)
        alarm.set(at)  # replaces the first time
        _until_rung(rings, 1)
        gevent.sleep(0.05)
        assert len(rings) == 1
        assert rings[0] >= at
        alarm.set(time.time() + 0.01)
        alarm.cancel()
        gevent.sleep(0.1)
        assert len(rings) == 1  # cancelled: no second ring
        alarm.set(time.time() - 1)  # a time past: at once
        _until_rung(rings, 2)
        assert len(rings) == 2
    finally:
        alarm.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="no timerfd here")
def test_on_a_beat_it_rings_on_and_set_on_the_beat_again_it_programs_nothing() -> None:
    rings: list[float] = []
    alarm = Alarm(lambda: rings.append(time.time()))
    try:
        first, every = time.time() + 0.02, 0.005
        alarm.set(first, every)
        _until_rung(rings, 5)
        assert rings == sorted(rings)
        assert rings[0] >= first  # never early
        assert alarm.programmed == 1  # five rings (or more), programmed once
        beat = first + every * (int((time.time() - first) / every) + 4)  # 4 beats to come
        alarm.set(beat, every)  # on the beat it rings on: nothing programmed
        assert alarm.programmed == 1
        alarm.set(beat, every * 2)  # another beat: programmed
        assert alarm.programmed == 2
        alarm.cancel()  # a beat is stopped: programmed to ring at no time
        assert alarm.programmed == 3
        count = len(rings)
        gevent.sleep(0.05)
        assert len(rings) == count
        alarm.set(time.time() + 0.0123)  # once
        _until_rung(rings, count + 1)
        gevent.sleep(0.05)
        assert len(rings) == count + 1  # no beat any more
        assert alarm.programmed == 4
    finally:
        alarm.close()


def test_without_a_timerfd_a_libev_timer_stands_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alarm_module, "_libc", lambda: None)
    alarm, rings = _ringing()
    try:
        assert not alarm.precise
        alarm.set(time.time() + 0.05)
        _until_rung(rings, 1)
        assert len(rings) == 1
        alarm.set(time.time() + 0.01)
        alarm.cancel()
        gevent.sleep(0.1)
        assert len(rings) == 1
    finally:
        alarm.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_a_forked_child_sees_the_alarm_as_its_parents() -> None:
    alarm, _ = _ringing()
    try:
        assert not alarm.inherited
        read, write = os.pipe()
        child = os.fork()
        if child == 0:  # the child: answer, and leave at once (no pytest teardown here)
            os.write(write, b"1" if alarm.inherited else b"0")
            os._exit(0)
        os.close(write)
        answer = os.read(read, 1)
        os.close(read)
        os.waitpid(child, 0)
        assert answer == b"1"
        assert not alarm.inherited  # still the parent's own
    finally:
        alarm.close()
