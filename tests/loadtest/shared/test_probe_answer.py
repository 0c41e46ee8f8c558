"""The locustfile probe's line read back: users or a refusal, unknown keys ignored."""

from __future__ import annotations

from spendcast.loadtest.shared.probe_answer import ProbedUsers, ProbeRefusal, probe_answer


def test_users_and_refusals_are_read_as_written_and_unknown_keys_ignored() -> None:
    users = ProbedUsers(("/w/a.py",), ("A", "B"), ("A",), ("Ramp",), ("--x",), {"num_users": 5},
                        {"A": "http://h"})  # fmt: skip
    assert probe_answer({**users.to_json(), "later": 1}) == users
    refusal = ProbeRefusal("NameError: name 'x' is not defined", "/w/a.py", 3)
    assert refusal.to_json() == {"error": refusal.error, "file": "/w/a.py", "line": 3}
    assert probe_answer(refusal.to_json()) == refusal
    assert probe_answer({"error": "no user class"}) == ProbeRefusal("no user class")
