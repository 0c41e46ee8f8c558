from __future__ import annotations

from spendcast.loadtest.shared.credentials import auth_headers, base_url, public_host


def test_token_is_sent_as_the_spendcast_cookie() -> None:
    assert auth_headers({"SPENDCAST_API_TOKEN": "abc"}) == {"Cookie": "spendcast_token=abc"}


def test_raw_cookie_and_token_are_joined() -> None:
    env = {"SPENDCAST_COOKIE": "_xsrf=1; session=2", "SPENDCAST_API_TOKEN": "abc"}
    assert auth_headers(env) == {"Cookie": "_xsrf=1; session=2; spendcast_token=abc"}


def test_no_credentials_no_header() -> None:
    assert auth_headers({"SPENDCAST_API_TOKEN": " ", "SPENDCAST_COOKIE": ""}) == {}


def test_public_host_drops_secrets() -> None:
    url = "https://user:pass@lab.example:8443/jupyter/user/admin/swagger/?token=x#frag"
    assert public_host(url) == "https://lab.example:8443/jupyter/user/admin/swagger/"


def test_base_url_keeps_the_path_prefix() -> None:
    assert base_url("http://proxy/some/prefix/") + "/predict" == "http://proxy/some/prefix/predict"
    assert base_url("http://127.0.0.1:8000") + "/predict" == "http://127.0.0.1:8000/predict"
