"""Token auth: one decision, ``token_refusal``, made on the raw header lines of a request, by
the ``GET /predict`` fast path and by every FastAPI route that needs the token alike.

The rule, on the ASGI header list (names lower-case, as every ASGI server gives them; values as
the bytes received):

- ``Authorization``: at most one such line (two or more: refused, whatever they hold). Its
  value is ``<scheme> <credentials>``, split at the first space; a scheme equal to ``Bearer``
  in any case carries the credentials, stripped of spaces and tabs. Another scheme (``Basic``)
  carries no token.
- ``Cookie``: every ``Cookie`` line counts (Starlette merges them too), each split on ``;``
  into ``name=value`` pairs, stripped and unquoted as Starlette's ``cookie_parser`` does. The
  cookie ``spendcast_token`` may repeat only with one value; two different values: refused.
- The request is let through when it presents a token (bearer, cookie or both) and every token
  it presents equals the configured one (bytes, compared in constant time; header bytes are
  taken as received, the latin-1 reading Starlette uses).

The configured token is printable ASCII without ``"`` ``,`` ``;`` ``\\`` or spaces (checked
when the settings are read, see ``spendcast.settings``), so it can always be sent both ways.
Routes declare it with ``route_class=TokenRoute`` (``/predict``) or ``ConfiguredTokenRoute``
(``/train``: refused with 403 when ``SPENDCAST_API_TOKEN`` is unset, where ``/predict`` is
open), which check before FastAPI reads the query or body, and ``dependencies=DOCUMENTED`` for
the OpenAPI document. Tokens are never logged.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException, Request, Response, Security
from fastapi.routing import APIRoute
from fastapi.security import APIKeyCookie, HTTPBearer
from starlette.requests import HTTPConnection, cookie_parser

if TYPE_CHECKING:
    from spendcast.api.runtime import Runtime

TOKEN_COOKIE = "spendcast_token"  # noqa: S105 (a cookie name, not a secret)
_HOW = f"send the cookie {TOKEN_COOKIE}=<token> or the header Authorization: Bearer <token>, once"
MISSING_OR_WRONG = f"missing or wrong token: {_HOW}"
SEVERAL_AUTHORIZATIONS = f"several Authorization headers: {_HOW}"
SEVERAL_COOKIES = f"several different {TOKEN_COOKIE} cookies: {_HOW}"
_MARKER = TOKEN_COOKIE.encode()
_PLAIN_PREFIX = _MARKER + b"="
# RFC 6265 cookie-octets: no control, space, DQUOTE, comma, semicolon or backslash.
_COOKIE_OCTETS = re.compile(rb"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]+")


def token_refusal(headers: Iterable[tuple[bytes, bytes]], token: bytes) -> str | None:
    """Why a request with these header lines is not let through, or None if it is."""
    authorization: bytes | None = None
    cookies: list[bytes] = []
    for name, value in headers:
        if name == b"authorization":
            if authorization is not None:
                return SEVERAL_AUTHORIZATIONS
            authorization = value
        elif name == b"cookie":
            cookies.append(value)
    presented: list[bytes] = []
    if authorization is not None:
        scheme, _, credentials = authorization.partition(b" ")
        if scheme.lower() == b"bearer":
            presented.append(credentials.strip(b" \t"))
    if cookies:
        cookie, ambiguous = _token_cookie(cookies)
        if ambiguous:
            return SEVERAL_COOKIES
        if cookie is not None:
            presented.append(cookie)
    if len(presented) == 1:
        return None if hmac.compare_digest(presented[0], token) else MISSING_OR_WRONG
    if not presented:
        return MISSING_OR_WRONG
    # Every comparison runs: the time taken says nothing about which one failed.
    matches = [hmac.compare_digest(candidate, token) for candidate in presented]
    return None if all(matches) else MISSING_OR_WRONG


def _token_cookie(lines: list[bytes]) -> tuple[bytes | None, bool]:
    """The value of the token cookie (None if absent), and whether it has several values."""
    found: bytes | None = None
    for line in lines:
        if _MARKER not in line:
            continue
        if line.startswith(_PLAIN_PREFIX) and _COOKIE_OCTETS.fullmatch(line, len(_PLAIN_PREFIX)):
            # The line is that one cookie, its value plain octets: what the parse below
            # would find (nothing to split, strip or unquote), without the parse.
            value_bytes = line[len(_PLAIN_PREFIX) :]
            if found is not None and value_bytes != found:
                return None, True
            found = value_bytes
            continue
        for chunk in line.decode("latin-1").split(";"):
            if TOKEN_COOKIE not in chunk:
                continue
            value = cookie_parser(chunk).get(TOKEN_COOKIE)
            if value is None:
                continue
            encoded = value.encode("latin-1")  # unquoting never leaves latin-1
            if found is not None and encoded != found:
                return None, True
            found = encoded
    return found, False


class _DocumentedCookie(APIKeyCookie):
    """The cookie scheme, for the OpenAPI document only: ``token_refusal`` decides."""

    async def __call__(self, request: HTTPConnection) -> None:
        return None


class _DocumentedBearer(HTTPBearer):
    """The bearer scheme, for the OpenAPI document only: ``token_refusal`` decides."""

    async def __call__(self, request: HTTPConnection) -> None:
        return None


_cookie_scheme = _DocumentedCookie(
    name=TOKEN_COOKIE,
    scheme_name="APIKeyCookie",
    auto_error=False,
    description="The API token in a cookie (what the lab's `Cookie` header carries).",
)
_bearer_scheme = _DocumentedBearer(
    scheme_name="HTTPBearer", auto_error=False, description="The API token as a bearer token."
)


# The routes' declared security, for the OpenAPI document; the route classes below enforce it.
DOCUMENTED = [Security(_cookie_scheme), Security(_bearer_scheme)]


def _refuse(request: Request, required: bool) -> None:
    runtime: Runtime = request.app.state.runtime
    if runtime.token is None:
        if required:
            raise HTTPException(
                status_code=403,
                detail="training over HTTP is disabled: set SPENDCAST_API_TOKEN to enable it",
            )
        return
    refusal = token_refusal(request.scope["headers"], runtime.token)
    if refusal is not None:
        raise HTTPException(status_code=401, detail=refusal, headers={"WWW-Authenticate": "Bearer"})


class TokenRoute(APIRoute):
    """A route that needs the token when one is configured (open otherwise).

    Checked before FastAPI reads the query or the body: a call without the token is a 401
    whatever else is wrong with it, and learns nothing about its input.
    """

    token_required = False

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        required = self.token_required

        async def checked(request: Request) -> Response:
            _refuse(request, required)
            return await handler(request)

        return checked


class ConfiguredTokenRoute(TokenRoute):
    """A route that needs the token, and is refused (403) when none is configured."""

    token_required = True
