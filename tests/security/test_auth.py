"""Every route of the served OpenAPI document, with and without the token: which need it, that a
missing, wrong or near-miss token is a 401 in the error shape, that the cookie and the bearer
both open, and that the token never shows up in the log, the metrics, /ready or an error body."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.security.support import TOKEN, assert_error_response, module_server, raw_request
from tests.support.server import Server

pytestmark = pytest.mark.e2e

# (method, path) -> needs the token. Every operation of /openapi.json must be listed here.
NEEDS_TOKEN: dict[tuple[str, str], bool] = {
    ("GET", "/predict"): True,
    ("POST", "/predict"): True,
    ("POST", "/train"): True,
    ("GET", "/"): False,
    ("GET", "/health"): False,
    ("GET", "/ready"): False,
    ("GET", "/metrics"): False,
}
# Served but not in the document (they describe the API rather than being part of it).
UNDOCUMENTED_OPEN = [("GET", "/docs"), ("GET", "/openapi.json")]

NEAR_MISSES = {
    "missing": None,
    "wrong": "not-the-token",
    "empty": "",
    "one-char-longer": TOKEN + "x",
    "one-char-shorter": TOKEN[:-1],
    "last-char-changed": TOKEN[:-1] + ("0" if TOKEN[-1] != "0" else "1"),
    "first-char-changed": ("x" if TOKEN[0] != "x" else "y") + TOKEN[1:],
    "upper-case": TOKEN.upper(),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, trained_model_dir: Path) -> Iterator[Server]:
    with module_server(tmp_path_factory.mktemp("auth"), trained_model_dir) as running:
        yield running


@pytest.fixture(scope="module")
def seen_bodies() -> list[str]:
    """Every body answered in this module, searched for the token at the end."""
    return []


def _call(
    server: Server, method: str, path: str, *, headers: dict[str, str] | None = None
) -> httpx.Response:
    """A call that is valid apart from its credentials."""
    kwargs: dict[str, object] = {}
    if (method, path) == ("GET", "/predict"):
        kwargs["params"] = {"education": "Master", "age": 33, "income": 42_000}
    elif (method, path) == ("POST", "/predict"):
        kwargs["json"] = [{"education": "Bachelor", "age": 25, "income": 30_000}]
    with httpx.Client(base_url=server.url, timeout=120) as client:
        return client.request(method, path, headers=headers or {}, **kwargs)  # type: ignore[arg-type]


def _credentials(kind: str, token: str | None) -> dict[str, str]:
    if token is None:
        return {}
    if kind == "cookie":
        return {"Cookie": f"spendcast_token={token}"}
    return {"Authorization": f"Bearer {token}".strip()}


def test_the_table_lists_every_operation_of_the_served_document(server: Server) -> None:
    document = httpx.get(f"{server.url}/openapi.json", timeout=10).json()
    operations = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    assert operations == set(NEEDS_TOKEN)
    for (method, path), protected in NEEDS_TOKEN.items():
        declared = document["paths"][path][method.lower()].get("security")
        assert bool(declared) == protected, (method, path)


@pytest.mark.parametrize(("method", "path"), [*NEEDS_TOKEN, *UNDOCUMENTED_OPEN])
def test_open_routes_answer_without_a_token(
    server: Server, method: str, path: str, seen_bodies: list[str]
) -> None:
    response = _call(server, method, path)
    seen_bodies.append(response.text)
    if NEEDS_TOKEN.get((method, path), False):
        assert response.status_code == 401
        assert_error_response(response)
        assert response.headers["www-authenticate"] == "Bearer"
    else:
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("kind", ["cookie", "bearer"])
@pytest.mark.parametrize("miss", list(NEAR_MISSES))
@pytest.mark.parametrize(("method", "path"), [k for k, v in NEEDS_TOKEN.items() if v])
def test_a_missing_or_near_miss_token_is_401(
    server: Server, method: str, path: str, miss: str, kind: str, seen_bodies: list[str]
) -> None:
    response = _call(server, method, path, headers=_credentials(kind, NEAR_MISSES[miss]))
    seen_bodies.append(response.text)
    assert response.status_code == 401, response.text
    error = assert_error_response(response)
    assert error["code"] == "unauthorized"


@pytest.mark.parametrize("kind", ["cookie", "bearer"])
@pytest.mark.parametrize(("method", "path"), [k for k, v in NEEDS_TOKEN.items() if v])
def test_the_cookie_and_the_bearer_both_open(
    server: Server, method: str, path: str, kind: str, seen_bodies: list[str]
) -> None:
    response = _call(server, method, path, headers=_credentials(kind, TOKEN))
    seen_bodies.append(response.text)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("lines", "status"),
    [
        ([f"aUtHoRiZaTiOn: bEaReR {TOKEN}"], 200),  # names and scheme in any case
        ([f"COOKIE: a=1; spendcast_token={TOKEN}"], 200),
        ([f"Cookie: spendcast_token={TOKEN}", "cookie: spendcast_token=other"], 401),
        (["Cookie: spendcast_token=other", f"COOKIE: spendcast_token={TOKEN}"], 401),
        ([f"Authorization: Bearer {TOKEN}", f"authorization: Bearer {TOKEN}"], 401),
        ([f"Authorization: Bearer {TOKEN}", "Cookie: spendcast_token=wrong"], 401),
    ],
)
@pytest.mark.parametrize(
    "target",
    [
        "GET /predict?education=PhD&age=42&income=50000",  # the fast path
        "GET /predict?education=PhD&age=%2B42&income=5e4",  # FastAPI
        "POST /predict",
    ],
)
def test_header_lines_on_the_wire_get_one_answer_on_every_path(
    server: Server, target: str, lines: list[str], status: int
) -> None:
    body = b'[{"education": "PhD", "age": 42, "income": 50000}]' if "POST" in target else b""
    head = [f"{target} HTTP/1.1", "Host: x", *lines, f"Content-Length: {len(body)}"]
    if body:
        head.append("Content-Type: application/json")
    answered, _, content = raw_request(server.url, ("\r\n".join(head) + "\r\n\r\n").encode() + body)
    assert answered == status, content


def test_the_token_never_leaks(server: Server, seen_bodies: list[str]) -> None:
    """Runs last in this module: every call above is in the log by now."""
    ready = httpx.get(f"{server.url}/ready", timeout=10).text
    metrics = httpx.get(f"{server.url}/metrics", timeout=10).text
    openapi = httpx.get(f"{server.url}/openapi.json", timeout=10).text
    assert seen_bodies  # the other tests of this module ran first
    server.stop()
    log = server.log_path.read_text()
    output = (server.workdir / "serve.log").read_text(errors="replace")
    assert " 401 " in log  # the calls above were logged
    assert " 200 " in log
    for where, text in {
        "api log": log,
        "server output": output,
        "/ready": ready,
        "/metrics": metrics,
        "/openapi.json": openapi,
        "bodies": "\n".join(seen_bodies),
    }.items():
        assert TOKEN not in text, where
        assert TOKEN[:-1] not in text, where  # nor a near miss sent by a test
