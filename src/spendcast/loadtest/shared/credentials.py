"""How a load test authenticates: from the environment only, never from a file.

- ``SPENDCAST_API_TOKEN``: sent as the cookie ``spendcast_token=<token>`` (what spendcast checks);
- ``SPENDCAST_COOKIE``: a raw ``Cookie`` header value, e.g. copied from a browser for an API
  behind an authenticating proxy (the lab's flow).

Both may be set: the cookies are then joined.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from spendcast.loadtest.shared.contract import COOKIE_ENV, THINK_TIME_ENV, TOKEN_ENV

TOKEN_COOKIE: Final = "spendcast_token"  # noqa: S105 (a cookie's name)


def auth_headers(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The headers every request carries: a ``Cookie`` header, or nothing."""
    env = os.environ if environ is None else environ
    cookies = [value for value in (env.get(COOKIE_ENV, "").strip(),) if value]
    token = env.get(TOKEN_ENV, "").strip()
    if token:
        cookies.append(f"{TOKEN_COOKIE}={token}")
    return {"Cookie": "; ".join(cookies)} if cookies else {}


def public_host(url: str) -> str:
    """``url`` without user, password, query or fragment: safe to write in a report."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if ":" in netloc:  # IPv6 literal
        netloc = f"[{netloc}]"
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def base_url(host: str) -> str:
    """The host without its trailing slash: request paths ("/predict") are appended to it, so
    ``http://proxy/some/prefix/`` sends ``http://proxy/some/prefix/predict``."""
    return host.rstrip("/")


def locust_environment(
    extra_env: Mapping[str, str], token: str | None, cookie: str | None, think_time: str | None
) -> dict[str, str]:
    """The environment a Locust process starts with: ours, ``extra_env``, and the run's
    credentials and think time (read by the Locust side, never put on its command line)."""
    env = {**os.environ, **extra_env}
    for name, value in ((TOKEN_ENV, token), (COOKIE_ENV, cookie), (THINK_TIME_ENV, think_time)):
        if value is not None:
            env[name] = value
    return env
