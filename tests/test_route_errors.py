"""The routes' own errors in the contract's form: an id that cannot be a run's or a key's is
a JSON 404 ``not_found`` like an unknown one (never the server's HTML page); a 405 says, in
``Allow``, the methods its route answers (each of them answered)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tornado import httpclient, web
from tornado.httpclient import HTTPClientError, HTTPResponse
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from notebook_restified.server.health import HealthHandler

from .notebooks import Fetch, write_notebook


async def error_of(jp_fetch: Fetch, *parts: str, **kwargs: Any) -> tuple[HTTPResponse, Any]:
    """The error response of a request, and its JSON body's ``error``."""
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch(*parts, **kwargs)
    response = err.value.response
    assert response is not None
    assert response.headers["Content-Type"].startswith("application/json")
    return response, json.loads(response.body)["error"]


@pytest.mark.parametrize("run_id", ["deadbeef", "zz", "0" * 33, "A" * 32, "0" * 31 + "g"])
@pytest.mark.parametrize(
    ("method", "tail"),
    [("GET", ()), ("DELETE", ()), *(("GET", (t,)) for t in ("result", "events", "notebook"))],
)
async def test_a_malformed_run_id_is_a_json_404_as_an_unknown_one(
    jp_fetch: Fetch, run_id: str, method: str, tail: tuple[str, ...]
) -> None:
    unknown, unknown_error = await error_of(
        jp_fetch, "api", "restified", "runs", "0" * 32, *tail, method=method
    )
    response, error = await error_of(
        jp_fetch, "api", "restified", "runs", run_id, *tail, method=method
    )
    assert (unknown.code, unknown_error["type"]) == (404, "not_found")
    assert (response.code, error["type"]) == (404, "not_found")
    assert run_id in error["message"]


@pytest.mark.parametrize("key_id", ["zz", "ABC", "0123456789abcdef0123", "nrk_x"])
async def test_a_malformed_key_id_is_a_json_404_as_an_unknown_one(
    jp_fetch: Fetch, key_id: str
) -> None:
    unknown, unknown_error = await error_of(
        jp_fetch, "api", "restified", "keys", "0123456789ab", method="DELETE"
    )
    response, error = await error_of(jp_fetch, "api", "restified", "keys", key_id, method="DELETE")
    assert (unknown.code, unknown_error["type"]) == (404, "not_found")
    assert (response.code, error["type"]) == (404, "not_found")


#: Each route (as ``jp_fetch`` parts) and the methods it answers.
ROUTES: list[tuple[tuple[str, ...], str]] = [
    (("restified", "fib.ipynb"), "GET, POST, OPTIONS"),
    (("api", "restified", "runs"), "GET, OPTIONS"),
    (("api", "restified", "runs", "0" * 32), "GET, DELETE, OPTIONS"),
    (("api", "restified", "runs", "0" * 32, "result"), "GET, OPTIONS"),
    (("api", "restified", "keys"), "GET, POST, OPTIONS"),
    (("api", "restified", "keys", "0123456789ab"), "DELETE, OPTIONS"),
    (("api", "restified", "spec", "fib.ipynb"), "GET, POST, OPTIONS"),
    (("api", "restified", "status"), "GET, OPTIONS"),
    (("restified",), "GET, HEAD, OPTIONS"),
    (("api", "restified", "assets", "page.css"), "GET, HEAD"),
]


@pytest.fixture
def fib(jp_root_dir: Path) -> None:
    write_notebook(
        jp_root_dir / "fib.ipynb", ("n: int = 10", ["parameters"]), ("n * 2", ["return"])
    )


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
async def test_a_405_of_the_endpoint_says_allow_get_post(
    jp_fetch: Fetch, fib: None, method: str
) -> None:
    response, error = await error_of(
        jp_fetch,
        "restified",
        "fib.ipynb",
        method=method,
        body=None if method == "DELETE" else "{}",
        headers={"Content-Type": "application/json"},
    )
    assert (response.code, error["type"]) == (405, "method_not_allowed")
    assert response.headers["Allow"] == "GET, POST, OPTIONS"


@pytest.mark.parametrize(("parts", "allow"), ROUTES)
async def test_every_405_says_what_its_route_allows_and_each_is_answered(
    jp_fetch: Fetch, fib: None, parts: tuple[str, ...], allow: str
) -> None:
    answered = allow.split(", ")
    refused = [m for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE") if m not in answered]
    # Past the XSRF check (the static files' is tornado's own, made before the method's).
    xsrf = {"Cookie": "_xsrf=00ff", "X-XSRFToken": "00ff"}
    for method in refused:
        body = "{}" if method in ("POST", "PUT", "PATCH") else None
        response = await jp_fetch(*parts, method=method, body=body, headers=xsrf, raise_error=False)
        assert response.code == 405, (method, response.code)
        assert response.headers["Allow"] == allow, method
    for method in answered:
        body = b"" if method == "POST" else None
        response = await jp_fetch(
            *parts, method=method, body=body, follow_redirects=False, raise_error=False
        )
        assert response.code != 405, method  # 200, or the route's own 301, 404 or 422


async def test_a_405_of_the_health_routes_says_allow_get() -> None:
    sock, port = bind_unused_port()
    server = HTTPServer(web.Application([(r"/healthz", HealthHandler)]))
    server.add_sockets([sock])
    client = httpclient.AsyncHTTPClient()
    try:
        response = await client.fetch(
            f"http://127.0.0.1:{port}/healthz", method="POST", body=b"", raise_error=False
        )
        assert response.code == 405
        assert response.headers["Allow"] == "GET"
        assert json.loads(response.body)["error"]["type"] == "method_not_allowed"
    finally:
        server.stop()
