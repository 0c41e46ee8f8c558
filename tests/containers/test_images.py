"""deploy/Containerfile.api and deploy/Containerfile.kit, built and run for real with podman.

No image registry is reachable here: the images are built ``FROM`` a base made locally with
debootstrap (``base_image.py``, once per machine: it is kept as
``localhost/spendcast-base:bookworm``), and pip installs from a wheelhouse made on the host
(``--no-index``); the images are built once per session (``conftest.py``). Needs root,
podman, runc and debootstrap (see .ci/run); skips with the reason without them, fails under
CI=true.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from spendcast.api.responses import MODEL_VERSION_HEADER
from tests.containers.base_image import Images, podman
from tests.reliability.support import wait_until
from tests.support.server import free_port

# The first test builds the base image (debootstrap, ~1-3 min cold) and both images.
# A test may wait for the images (conftest.py), built by another xdist worker meanwhile.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]


@pytest.fixture
def api(images: Images) -> Iterator[str]:
    """The API image running, published on a free port of 127.0.0.1: its URL."""
    name, port = f"spendcast-api-{free_port()}", free_port()
    podman("run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8000", images.api)
    url = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            try:
                return httpx.get(f"{url}/ready", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(ready, 120, "the API container ready")
        yield name
    finally:
        podman("rm", "-f", "-t", "5", name, check=False)


def test_the_api_image_serves_as_a_non_root_user_with_a_health_check(
    images: Images, api: str
) -> None:
    port = podman("port", api, "8000").stdout.strip().rpartition(":")[2]
    answer = httpx.get(f"http://127.0.0.1:{port}/predict?education=PhD&age=42&income=50000")
    assert answer.status_code == 200
    assert float(answer.text) > 0
    assert len(answer.headers[MODEL_VERSION_HEADER]) == 12
    assert podman("exec", api, "id", "-u").stdout.strip() == "10001"
    wait_until(lambda: podman("healthcheck", "run", api, check=False).returncode == 0, 30)
    # Serving only: the load-test kit is not installed in the API's image.
    kit = podman(
        "run", "--rm", "--entrypoint", "python3", images.api, "-c", "import locust", check=False
    )  # fmt: skip
    assert kit.returncode != 0
    assert "No module named 'locust'" in kit.stderr


def test_the_kit_image_load_tests_the_api_image(images: Images, api: str) -> None:
    port = podman("port", api, "8000").stdout.strip().rpartition(":")[2]
    run = podman(
        "run", "--rm", "--network", "host", images.kit,
        "loadtest", "--host", f"http://127.0.0.1:{port}", "--scenario", "predict",
        "--users", "2", "--duration", "3s", "--out", "/tmp/run", "--slo", "errors<=0%",
        check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    log = podman("exec", api, "cat", "/srv/spendcast/api_logfile.log").stdout
    assert sum(" /predict" in line and " 200 " in line for line in log.splitlines()) > 0
