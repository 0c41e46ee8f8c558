"""Start a server command on a free port, wait until it is ready, stop it with a signal.

Used by the quick start (``scripts/quickstart_loadtest.py``) and by commands that compare two
servers. The command is a list of arguments or a shell-like string; ``{port}`` in it is
replaced by the chosen port, which is also exported as ``PORT``.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from spendcast.errors import ServerStartError


def free_port(host: str = "127.0.0.1") -> int:
    """A port the kernel just handed out (bound to 0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    url: str
    port: int

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Signal the server (SIGTERM: a graceful shutdown) and wait; returns its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def wait_ready(
    url: str, process: subprocess.Popen[bytes], ready_path: str = "/ready", timeout: float = 60
) -> None:
    """Poll ``url + ready_path`` until it answers 2xx; ``ServerStartError`` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerStartError(f"server exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}{ready_path}", timeout=1):  # noqa: S310
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise ServerStartError(f"{url}{ready_path} did not answer 2xx within {timeout:g}s")


@contextmanager
def started_server(
    command: Sequence[str] | str,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    host: str = "127.0.0.1",
    port: int | None = None,
    ready_path: str = "/ready",
    timeout: float = 60,
    output: IO[bytes] | None = None,
) -> Iterator[ServerProcess]:
    """Run ``command`` (``{port}`` substituted) until the block ends, then SIGTERM it.

    ``env`` is added to this process's environment; ``output`` receives stdout and stderr.
    """
    chosen = port or free_port(host)
    arguments = shlex.split(command) if isinstance(command, str) else list(command)
    arguments = [argument.replace("{port}", str(chosen)) for argument in arguments]
    process = subprocess.Popen(
        arguments,
        cwd=cwd,
        env={**os.environ, **(env or {}), "PORT": str(chosen)},
        stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
        stdin=subprocess.DEVNULL,
    )
    server = ServerProcess(process, f"http://{host}:{chosen}", chosen)
    try:
        wait_ready(server.url, process, ready_path, timeout)
        yield server
    finally:
        server.stop()
