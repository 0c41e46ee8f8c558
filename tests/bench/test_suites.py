"""bench.suites: pinning per core count, suite selection, the commands each server runs, and
the bare hello really served on `spendcast serve`'s stack."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

import pytest

from bench.servers import PORT, ServerSpec, running
from bench.suites import HELLO_APP, Pinning, full_suite, serve_stack_command, stacks_suite

ROOT = Path(__file__).resolve().parents[2]


def test_pinning_separates_server_and_generator() -> None:
    pin = Pinning.for_cpus([0, 1])
    assert (pin.server(1), pin.server(2), pin.generator) == ("0", "0,1", "1")
    assert Pinning.for_cpus([0]) == Pinning(None, None, None)
    assert Pinning.for_cpus([0, 1, 2, 3], enabled=False).generator is None


def test_full_suite_ratios_name_existing_scenarios(tmp_path: Path) -> None:
    suite = full_suite(Pinning.for_cpus([0, 1]), {}, {}, tmp_path)
    names = {s.name for s in suite.scenarios}
    assert {s.server for s in suite.scenarios} == {s.name for s in suite.servers}
    for ratio in suite.ratios:
        assert {ratio.numerator, ratio.denominator} <= names
    assert all(PORT in spec.command for spec in suite.servers)
    two = next(s for s in suite.servers if s.name == "spendcast-2w")
    assert two.workers == 2
    assert two.cpus == "0,1"
    assert "--pin-workers" in two.command  # and the row that shows what pinning buys is not
    unpinned = next(s for s in suite.servers if s.name == "spendcast-2w-unpinned")
    assert "--pin-workers" not in unpinned.command
    assert unpinned.command == tuple(part for part in two.command if part != "--pin-workers")


def test_select_keeps_needed_servers_and_computable_ratios(tmp_path: Path) -> None:
    suite = full_suite(Pinning.for_cpus([0, 1]), {}, {}, tmp_path).select(("1w",))
    assert {s.name for s in suite.servers} == {"hello-1w", "spendcast-1w", "lab-1w"}
    assert all("2w" not in r.numerator + r.denominator for r in suite.ratios)
    assert suite.ratios
    assert stacks_suite(Pinning(None, None, None)).select(()) == stacks_suite(
        Pinning(None, None, None)
    )


def test_the_full_suite_puts_the_hello_on_spendcast_serve_s_stack(tmp_path: Path) -> None:
    suite = full_suite(Pinning.for_cpus([0, 1]), {}, {}, tmp_path)
    hello = next(s for s in suite.servers if s.name == "hello-1w")
    assert hello.command == serve_stack_command(HELLO_APP, 1)
    labels = {r.label: r for r in suite.ratios}
    cpu = labels["predict / hello, CPU per request, 1 worker"]
    assert (cpu.figure, cpu.target, cpu.at_most) == ("cpu_us_per_request", 2.0, True)
    assert labels["predict / hello, req/s, 1 worker"].figure == "rps"


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_stack_answers_like_spendcast_serve(workers: int, tmp_path: Path) -> None:
    spec = ServerSpec("hello", serve_stack_command(HELLO_APP, workers), workers=workers, cwd=ROOT)
    with running(spec, tmp_path) as server:
        assert len(server.workers) == workers
        with urllib.request.urlopen(server.url + "/health") as response:
            assert json.loads(response.read()) == {"status": "ok"}
        # spendcast's own protocol: a request line the parser refuses, in the JSON error shape
        port = int(server.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET /health\x00 HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400 ")
        assert json.loads(body)["error"]["code"] == "bad_request"
