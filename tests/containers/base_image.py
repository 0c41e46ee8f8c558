"""Images for the container tests, built without a registry (../shared/CONTAINERS.md recipe).

The base, ``localhost/spendcast-base:bookworm``, is Debian bookworm made by debootstrap
(python3, venv, pip, CA certificates and the machine's own extra ones), imported into podman
once and then found there: CI builds it once per run. The images of deploy/ are tagged with a
digest of the files they are built from (the services', of deploy/ alone: a change to src/
builds only the API's and the kit's), and built only when podman has no image of that tag
(one process at a time: xdist workers wait for each other, then find them). The build context
is a copy of the package (``src``, ``pyproject.toml``, ``README.md``, ``deploy``) with a
wheelhouse made on the host, so that pip in the image installs with ``--no-index``.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
BASE = "localhost/spendcast-base:bookworm"
MIRROR = "http://deb.debian.org/debian"
EXTRA_CAS = Path("/usr/local/share/ca-certificates")
TOOLS = ("podman", "runc", "debootstrap")
# What the images are built from: their tag is a digest of these files.
INPUTS = ("src", "deploy", "pyproject.toml", "README.md", ".containerignore")
BUILD_LOCK = Path(tempfile.gettempdir()) / "spendcast-container-images.lock"
# deploy/Containerfile.<name>: the compose file's services from Debian's packages.
SERVICES = ("postgres", "haproxy", "prometheus")


@dataclass(frozen=True)
class Images:
    api: str
    kit: str


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["podman", "--runtime", "runc", *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"podman {' '.join(args[:3])} failed: {done.stderr[-3000:]}")
    return done


def _require_tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        message = f"{', '.join(missing)} not installed (apt-get install them, see .ci/run)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def ensure_base(workdir: Path) -> None:
    """The base image, made with debootstrap unless podman already has it."""
    if podman("image", "exists", BASE, check=False).returncode == 0:
        return
    rootfs = workdir / "rootfs"
    subprocess.run(
        ["debootstrap", "--variant=minbase",
         "--include=python3,python3-venv,python3-pip,ca-certificates",
         "bookworm", str(rootfs), MIRROR],
        check=True, capture_output=True,
    )  # fmt: skip
    for certificate in EXTRA_CAS.glob("*.crt"):  # an intercepting proxy's, if any
        shutil.copy(certificate, rootfs / "usr/local/share/ca-certificates")
    subprocess.run(
        ["chroot", str(rootfs), "update-ca-certificates"], check=True, capture_output=True
    )
    for trimmed in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc"):
        shutil.rmtree(rootfs / trimmed, ignore_errors=True)
    # The context manager closes the pipe and waits: an open pipe is a ResourceWarning (an error).
    with subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE) as archive:
        subprocess.run(
            ["podman", "import", "--change", 'CMD ["/bin/bash"]', "-", BASE],
            stdin=archive.stdout, check=True, capture_output=True,
        )  # fmt: skip
    shutil.rmtree(rootfs, ignore_errors=True)


def inputs_digest(inputs: tuple[str, ...] = INPUTS) -> str:
    """12 hex digits of the sha256 of every file the images are built from (paths and bytes):
    their tag, so that images built from the same files are found instead of built again."""
    digest = hashlib.sha256()
    for name in inputs:
        path = ROOT / name
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(ROOT)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:12]


@contextmanager
def _one_build_at_a_time() -> Iterator[None]:
    """Held while images are looked for and built: another test process (an xdist worker)
    waits, then finds them."""
    with BUILD_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _exists(tag: str) -> bool:
    return podman("image", "exists", tag, check=False).returncode == 0


def _drop_others(tag: str) -> None:
    """The images of ``tag``'s repository built from other files: they only take disk."""
    repository = tag.rpartition(":")[0]
    listed = podman("images", "--filter", f"reference={repository}", "--format",
                    "{{.Repository}}:{{.Tag}}", check=False)  # fmt: skip
    for other in set(listed.stdout.split()) - {tag}:
        podman("rmi", other, check=False)


def build_images(context: Path) -> Images:
    """Both images of deploy/, built from the base through a wheelhouse (unless built from the
    same files already)."""
    _require_tools()
    version = inputs_digest()
    images = Images(api=f"localhost/spendcast-api:{version}",
                    kit=f"localhost/spendcast-kit:{version}")  # fmt: skip
    with _one_build_at_a_time():
        if _exists(images.api) and _exists(images.kit):
            return images
        ensure_base(context.parent)
        for name in ("src", "deploy"):
            shutil.copytree(ROOT / name, context / name,
                            ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
        for name in ("pyproject.toml", "README.md", ".containerignore"):
            shutil.copy(ROOT / name, context / name)
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "-q", "-w", str(context / "wheelhouse"),
             f"{context}[postgres,loadtest]", "setuptools>=68", "wheel"],  # + the build's own
            check=True, capture_output=True,
        )  # fmt: skip
        for tag, containerfile in (
            (images.api, "Containerfile.api"),
            (images.kit, "Containerfile.kit"),
        ):
            podman(
                "build", "--format", "docker", "-f", f"deploy/{containerfile}", "-t", tag,
                "--build-arg", f"BASE={BASE}",
                "--build-arg", "PIP_OPTIONS=--no-index --find-links /src/wheelhouse",
                str(context),
            )  # fmt: skip
            _drop_others(tag)
    return images


def build_service_images(workdir: Path) -> dict[str, str]:
    """deploy/Containerfile.{postgres,haproxy,prometheus} built from the base (apt-get from
    Debian's mirror, unless built from the same files already): each service's image tag."""
    _require_tools()
    version = inputs_digest(("deploy",))  # their build context
    tags = {name: f"localhost/spendcast-{name}:{version}" for name in SERVICES}
    with _one_build_at_a_time():
        ensure_base(workdir)
        for name, tag in tags.items():
            if not _exists(tag):
                podman(
                    "build", "--format", "docker", "-f", f"Containerfile.{name}", "-t", tag,
                    "--build-arg", f"BASE={BASE}", str(ROOT / "deploy"),
                )  # fmt: skip
                _drop_others(tag)
    return tags
