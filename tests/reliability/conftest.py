"""A fresh PostgreSQL database per test, and a TCP proxy in front of the server to cut it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from tests.conftest import IN_CI, POSTGRES_URL
from tests.monitoring.support import TcpProxy


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A database of its own (``spendcast_rel_<random>``), created from ``postgres``, dropped
    after. Unreachable PostgreSQL: the test fails in CI and is skipped, with the reason, elsewhere.
    """
    server = make_url(POSTGRES_URL)
    admin = create_engine(
        server.set(database="postgres"),
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 3},
    )
    name = f"spendcast_rel_{secrets.token_hex(6)}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        message = f"PostgreSQL unreachable at {POSTGRES_URL}: {exc.orig}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[TcpProxy]:
    """Forwards to PostgreSQL until ``cut()``; ``restore()`` lets connections through again."""
    url = make_url(postgres_url)
    tcp = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    yield tcp
    tcp.close()


@pytest.fixture
def proxied_url(postgres_url: str, proxy: TcpProxy) -> str:
    """``postgres_url`` through ``proxy``: what the server is given."""
    url = make_url(postgres_url).set(host="127.0.0.1", port=proxy.port)
    return url.render_as_string(hide_password=False)
