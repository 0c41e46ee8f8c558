"""bench.wrk: reading wrk's summary line, building its command line, and a real short run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.servers import ServerSpec, running
from bench.suites import uvicorn_command
from bench.wrk import SCRIPT, WrkError, parse_wrk_output, run_wrk, wrk_command
from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parents[2]
WRK_TEXT = """Running 1s test @ http://127.0.0.1:8000
  1 threads and 4 connections
Requests/sec:  43987.04
WRK_JSON {"requests":131995,"bytes":18479300,"duration_us":3000770,"rps":43987.04,\
"errors":{"connect":0,"read":1,"write":0,"status":7,"timeout":2},\
"latency_us":{"mean":733.8,"p50":671,"p90":802,"p99":1792,"max":5385}}
"""


def test_parse_reads_counts_latency_and_errors() -> None:
    result = parse_wrk_output(WRK_TEXT)
    assert result.requests == 131995
    assert result.rps == pytest.approx(43987.04)
    assert (result.p50_us, result.p90_us, result.p99_us, result.max_us) == (671, 802, 1792, 5385)
    assert result.errors == {"connect": 0, "read": 1, "write": 0, "status": 7, "timeout": 2}
    assert result.error_count == 10
    assert result.as_dict()["latency_us"]["p99"] == 1792


def test_parse_without_summary_line_fails() -> None:
    with pytest.raises(WrkError, match="no WRK_JSON line"):
        parse_wrk_output("Running 1s test\nunable to connect to 127.0.0.1:1\n")


def test_command_pins_with_taskset_and_bounds_threads() -> None:
    command = wrk_command("http://h:1", connections=2, duration_s=2.6, threads=4, cpus="1")
    assert command[:3] == ["taskset", "-c", "1"]
    assert "-t2" in command  # never more threads than connections
    assert "-c2" in command
    assert "-d3s" in command
    assert command[-3:] == ["-s", str(SCRIPT), "http://h:1"]
    assert wrk_command("http://h:1", connections=8, duration_s=0.2)[0] == "wrk"


@pytest.fixture
def hello(tmp_path: Path) -> Iterator[str]:
    spec = ServerSpec("hello", uvicorn_command("bench.hello_asgi:app", 1), cwd=ROOT)
    with running(spec, tmp_path) as server:
        yield server.url


@pytest.mark.e2e
def test_real_wrk_run_against_the_bare_hello(hello: str) -> None:
    require_tool("wrk")
    result = run_wrk(
        wrk_command(hello, connections=4, duration_s=1),
        path="/predict",
        randomised_query=True,
        token="t0ken",
    )
    assert result.requests > 0
    assert result.error_count == 0
    assert result.p50_us <= result.p99_us <= result.max_us
    assert result.generator_cpu_s > 0


@pytest.mark.e2e
def test_lua_script_sends_random_queries_and_the_cookie(tmp_path: Path) -> None:
    """A server that echoes what it got: every request carries a valid query and the cookie."""
    require_tool("wrk")
    seen = tmp_path / "seen.txt"
    recorder = tmp_path / "recorder.py"
    recorder.write_text(RECORDER.format(path=str(seen)))
    spec = ServerSpec("recorder", uvicorn_command("recorder:app", 1), cwd=tmp_path)
    with running(spec, tmp_path) as server:
        seen.write_text("")
        run_wrk(
            wrk_command(server.url, connections=2, duration_s=1),
            path="/predict",
            randomised_query=True,
            token="t0ken",
        )
    lines = seen.read_text().splitlines()
    assert len(lines) > 10
    educations = set()
    for line in lines:
        path, query, cookie = line.split("|")
        assert path == "/predict"
        params = dict(part.split("=") for part in query.split("&"))
        assert params.keys() == {"education", "age", "income"}
        assert 18 <= int(params["age"]) <= 80
        assert 12_000 <= int(params["income"]) <= 150_000
        educations.add(params["education"])
        assert cookie == "spendcast_token=t0ken"
    assert educations <= {"High%20School", "Bachelor", "Master", "PhD"}
    assert len(educations) > 1


RECORDER = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    headers = dict(scope["headers"])
    with open({path!r}, "a") as seen:
        seen.write("|".join([scope["path"], scope["query_string"].decode(),
                             headers.get(b"cookie", b"").decode()]) + "\\n")
    await send({{"type": "http.response.start", "status": 200, "headers": []}})
    await send({{"type": "http.response.body", "body": b"1"}})
"""
