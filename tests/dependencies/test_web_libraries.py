"""Starlette, FastAPI and swagger-ui-bundle-v2 details the API relies on (bounded in
pyproject.toml: starlette<1.11, fastapi<0.166, swagger-ui-bundle-v2<6)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from spendcast.api.docs import ASSETS


def test_starlette_cookie_parser_parses_a_cookie_header() -> None:
    from starlette import requests

    parser = getattr(requests, "cookie_parser", None)
    assert parser is not None, (
        "starlette moved starlette.requests.cookie_parser: the /predict fast path reads the "
        "token cookie with it"
    )
    assert parser("theme=dark; spendcast_token=s3cr3t") == {
        "theme": "dark",
        "spendcast_token": "s3cr3t",
    }


def test_fastapi_leaves_the_route_in_the_scope_for_outer_middleware() -> None:
    seen: list[object] = []

    class Outer:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            await self.app(scope, receive, send)
            if scope["type"] == "http":
                seen.append(getattr(scope.get("route"), "path", None))

    app = FastAPI()

    @app.get("/items/{item}")
    def item(item: int) -> int:
        return item

    with TestClient(Outer(app)) as client:
        assert client.get("/items/3").json() == 3
    assert seen == ["/items/{item}"], (
        "FastAPI no longer leaves scope['route'] for the middleware around it: the route label "
        "of /metrics (spendcast.api.metrics.RouteLabels) needs it"
    )


def test_swagger_ui_bundle_ships_the_files_docs_links_to() -> None:
    from swagger_ui_bundle import swagger_ui_path

    names = {"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"}
    missing = sorted(name for name in names if not (Path(swagger_ui_path) / name).is_file())
    assert missing == [], (
        f"swagger-ui-bundle-v2 no longer ships {missing} in swagger_ui_path: /docs links to "
        f"{ASSETS}/<name>"
    )
