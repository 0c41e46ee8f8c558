"""The plan shape's pool sizing input, in a Locust process of its own (Locust brings gevent's
monkey-patching, which must stay out of pytest's process)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

# Seconds 995 and 999 closed (encoded), 1000 still open; a late answer then lands in 999.
SCRIPT = textwrap.dedent(
    """
    import gevent.monkey
    gevent.monkey.patch_all()
    import json
    from spendcast.loadtest.locust import shapes
    from spendcast.loadtest.shared.recording import Recording
    from spendcast.loadtest.shared.tally import Tally

    recording = Recording()
    shapes.current_recording = lambda: recording
    decoded = []
    real_from_json = Tally.from_json
    Tally.from_json = classmethod(lambda cls, data: decoded.append(1) or real_from_json(data))

    def longest(now):
        before = len(decoded)
        value = shape._longest_answer_s(now)
        return value, len(decoded) - before

    recording.record("GET", "/a", 250.0, False, 995.2)
    recording.record("GET", "/a", 40.0, False, 999.1)
    recording.close_seconds(before=1000)
    recording.record("GET", "/a", 5.0, False, 1000.2)
    shape = shapes.PlanShape()
    first, again = longest(1000.5), longest(1000.5)
    recording.record("GET", "/a", 900.0, False, 999.5)
    recording.close_seconds(before=1000)
    merged = longest(1000.5)
    later = longest(1006.5)
    print(json.dumps({"first": first, "again": again, "merged": merged, "later": later,
                      "cached": sorted(shape._closed_longest)}))
    """
)


def test_the_longest_answer_decodes_each_closed_second_once() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=True
    )
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["first"][0] == pytest.approx(0.250, rel=0.01)
    assert result["first"][1] == 2  # seconds 995 and 999 decoded
    assert result["again"] == [result["first"][0], 0]  # the next tick decodes nothing
    assert result["merged"][0] == pytest.approx(0.900, rel=0.01)
    assert result["merged"][1] == 1  # only 999, whose encoding changed
    assert result["later"] == [pytest.approx(0.900, rel=0.01), 0]
    assert result["cached"] == [999]  # 995 left the window
