"""The ``route`` label: a route template for every route of the app, ``unmatched`` otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from spendcast.api.app import create_app
from spendcast.api.metrics import UNMATCHED_ROUTE, RouteLabels
from spendcast.api.routes import predict
from tests.api.conftest import make_settings


@pytest.fixture
def labels(workdir: Path) -> RouteLabels:
    return RouteLabels(create_app(make_settings(workdir)).routes)


@pytest.mark.parametrize(
    ("path", "root_path", "label"),
    [
        ("/openapi.json", "", "/openapi.json"),
        ("/api/openapi.json", "/api", "/openapi.json"),
        ("/docs/assets/swagger-ui.css", "", "/docs/assets/{path}"),
        ("/api/docs/assets/swagger-ui-bundle.js", "/api", "/docs/assets/{path}"),
        ("/docs/assets", "", "/docs/assets/{path}"),
        ("/docs/assetsX", "", UNMATCHED_ROUTE),
        ("/openapi.jsonx", "", UNMATCHED_ROUTE),
        ("/no/such/route", "", UNMATCHED_ROUTE),
        ("/api/no/such/route", "/api", UNMATCHED_ROUTE),
    ],
)
def test_routes_without_a_scope_route_are_recognised_by_path(
    labels: RouteLabels, path: str, root_path: str, label: str
) -> None:
    assert labels.label(None, path, root_path) == label


def test_the_route_routing_left_in_the_scope_wins(labels: RouteLabels) -> None:
    route = next(r for r in predict.router.routes if getattr(r, "path", "") == "/predict")
    assert labels.label(route, "/anything", "") == "/predict"
