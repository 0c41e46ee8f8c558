"""Token auth: a cookie (what the lab's load test sends) or an ``Authorization: Bearer`` header.

When ``SPENDCAST_API_TOKEN`` is unset, ``/predict`` is open and ``/train`` is refused (403).
Tokens are compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import HTTPException, Security
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from spendcast.api.deps import RuntimeDep

TOKEN_COOKIE = "spendcast_token"  # noqa: S105 (a cookie name, not a secret)

cookie_scheme = APIKeyCookie(
    name=TOKEN_COOKIE,
    auto_error=False,
    description="The API token in a cookie (what the lab's `Cookie` header carries).",
)
bearer_scheme = HTTPBearer(auto_error=False, description="The API token as a bearer token.")

CookieToken = Annotated[str | None, Security(cookie_scheme)]
BearerToken = Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)]


def _matches(candidate: str | None, expected: bytes) -> bool:
    return candidate is not None and hmac.compare_digest(candidate.encode(), expected)


def _check(
    expected: bytes, cookie: str | None, bearer: HTTPAuthorizationCredentials | None
) -> None:
    if _matches(cookie, expected) or (
        bearer is not None and _matches(bearer.credentials, expected)
    ):
        return
    raise HTTPException(
        status_code=401,
        detail=f"missing or wrong token: send the cookie {TOKEN_COOKIE}=<token> "
        "or the header Authorization: Bearer <token>",
        headers={"WWW-Authenticate": "Bearer"},
    )


async def require_token(runtime: RuntimeDep, cookie: CookieToken, bearer: BearerToken) -> None:
    """Let the call through when no token is configured or when it carries the right one."""
    if runtime.token is not None:
        _check(runtime.token, cookie, bearer)


async def require_configured_token(
    runtime: RuntimeDep, cookie: CookieToken, bearer: BearerToken
) -> None:
    """Like ``require_token``, but refuse (403) when no token is configured at all."""
    if runtime.token is None:
        raise HTTPException(
            status_code=403,
            detail="training over HTTP is disabled: set SPENDCAST_API_TOKEN to enable it",
        )
    _check(runtime.token, cookie, bearer)
