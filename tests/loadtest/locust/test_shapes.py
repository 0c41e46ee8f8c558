"""The plan shape's pool sizing input: the longest answer of the seconds recorded so far."""

from __future__ import annotations

from typing import Any

import pytest

from spendcast.loadtest.locust import shapes
from spendcast.loadtest.shared.recording import Recording
from spendcast.loadtest.shared.tally import Tally


def test_the_longest_answer_decodes_each_closed_second_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recording = Recording()
    monkeypatch.setattr(shapes, "current_recording", lambda: recording)
    decoded: list[int] = []
    real_from_json = Tally.from_json

    def counted_from_json(data: dict[str, Any]) -> Tally:
        decoded.append(1)
        return real_from_json(data)

    monkeypatch.setattr(Tally, "from_json", counted_from_json)
    shape = shapes.PlanShape()

    def longest(now: float) -> tuple[float, int]:
        before = len(decoded)
        value = shape._longest_answer_s(now)
        return value, len(decoded) - before

    # Seconds 995 and 999 closed (encoded), 1000 still open; a late answer then lands in 999.
    recording.record("GET", "/a", 250.0, False, 995.2)
    recording.record("GET", "/a", 40.0, False, 999.1)
    recording.close_seconds(before=1000)
    recording.record("GET", "/a", 5.0, False, 1000.2)
    first, again = longest(1000.5), longest(1000.5)
    recording.record("GET", "/a", 900.0, False, 999.5)
    recording.close_seconds(before=1000)
    merged = longest(1000.5)
    later = longest(1006.5)
    assert first[0] == pytest.approx(0.250, rel=0.01)
    assert first[1] == 2  # seconds 995 and 999 decoded
    assert again == (first[0], 0)  # the next tick decodes nothing
    assert merged[0] == pytest.approx(0.900, rel=0.01)
    assert merged[1] == 1  # only 999, whose encoding changed
    assert later[0] == pytest.approx(0.900, rel=0.01)
    assert later[1] == 0
    assert sorted(shape._closed_longest) == [999]  # 995 left the window
