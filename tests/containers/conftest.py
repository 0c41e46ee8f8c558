"""The images of deploy/, shared by every container test: built once for the files they are
built from (base_image.py), found by every later session and xdist worker."""

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
