"""JSON bodies serialised by orjson, built with as little work as possible per request."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response
from fastapi.responses import JSONResponse

MODEL_VERSION_HEADER = "X-Model-Version"


class JSONBytes(JSONResponse):
    """A JSON response whose content is serialised by orjson.

    A ``JSONResponse`` so that OpenAPI documents a route's ``response_model`` for it.
    """

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def with_model_version(content: Any, version: str) -> Response:
    """``content`` as JSON, with the model version that produced it in a header."""
    return JSONBytes(content, headers={MODEL_VERSION_HEADER: version})
