"""Collapsed stacks: own and total time, wrappers, speedscope, flame graph."""

from __future__ import annotations

from xml.etree import ElementTree

from spendcast.loadtest.profile.stacks import (
    flamegraph_svg,
    parse_collapsed,
    speedscope,
    split_frame,
    top_functions,
    top_packages,
)

RAW = """\
process 1:"python app.py";main (app.py:1);handler (app.py:10);slow (app.py:20) 6
process 1:"python app.py";main (app.py:1);handler (app.py:10);json.dumps (json/__init__.py:5) 3
process 1:"python app.py";main (app.py:1);handler (app.py:10) 1
"""


def test_frames_split_into_function_file_and_line() -> None:
    assert split_frame("slow (app.py:20)") == ("slow", "app.py", 20)
    assert split_frame("f (<frozen runpy>:88)") == ("f", "<frozen runpy>", 88)


def test_own_and_total_time() -> None:
    stacks = parse_collapsed(RAW)
    assert sum(count for _, count in stacks) == 10
    own = {row.function: row.samples for row in top_functions(stacks, own=True)}
    assert own == {"slow": 6, "json.dumps": 3, "handler": 1}
    total = {row.function: row.samples for row in top_functions(stacks, own=False)}
    # main spends all of its time in handler: a wrapper, left out.
    assert total == {"handler": 10, "slow": 6, "json.dumps": 3}
    assert top_packages(stacks)[0].to_json() == {"package": "app.py", "samples": 7,
                                                 "percent": 70.0}  # fmt: skip


def test_speedscope_and_flamegraph_hold_every_sample() -> None:
    stacks = parse_collapsed(RAW)
    document = speedscope(stacks, "app")
    assert document["profiles"][0]["weights"] == [6, 3, 1]
    frames = document["shared"]["frames"]
    assert [frames[i]["name"] for i in document["profiles"][0]["samples"][0]][-1] == "slow"
    svg = flamegraph_svg(stacks, "app")
    ElementTree.fromstring(svg)  # well-formed: browsers refuse to draw broken SVG
    assert svg.count("<rect") == 1 + 6  # background + all, process, main, handler, slow, json
    assert "slow (app.py:20) — 6 samples (60.0 %)" in svg
