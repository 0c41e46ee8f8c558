"""What the app and the server agree on, below the ASGI interface (``server/protocol.py``).

A leaf: the app (``api/``) imports it, and nothing else of ``spendcast.server``.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Scope

# The ASGI extension every HTTP scope carries: ``{"respond": respond(scope, headers, body)}``.
RESPOND = "spendcast.respond"
# ``answer_now(scope)``: True answered, None declined (nothing done), or the ASGI app to run.
AnswerNow = Callable[[Scope], "bool | ASGIApp | None"]
