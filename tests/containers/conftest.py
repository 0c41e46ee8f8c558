"""The images of deploy/, built once per test session and shared by every container test."""

from __future__ import annotations

import pytest

from tests.containers.base_image import Images, build_images, build_service_images


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> Images:
    return build_images(tmp_path_factory.mktemp("context"))


@pytest.fixture(scope="session")
def service_images(images: Images, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """PostgreSQL, HAProxy and Prometheus (after the base ``images`` made)."""
    return build_service_images(tmp_path_factory.mktemp("services"))
