"""A page on another site cannot make a logged-in user's browser run a notebook: a call
authenticated by the login cookie needs proof that it comes from the server's own pages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPResponse

from .notebooks import Fetch, bearer, create_key

pytestmark = pytest.mark.timeout(240)


def cookies_of(response: HTTPResponse) -> dict[str, str]:
    pairs = (c.split(";", 1)[0].partition("=") for c in response.headers.get_list("Set-Cookie"))
    return {name: value for name, _, value in pairs}


async def browser_cookies(jp_fetch: Fetch) -> dict[str, str]:
    """What a logged-in browser holds: the login cookie and the ``_xsrf`` cookie."""
    login = cookies_of(await jp_fetch("api", "status"))  # the token sets the login cookie
    xsrf = cookies_of(await jp_fetch("login", headers={"Authorization": ""}))
    return {**login, **xsrf}


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


async def call_with(jp_fetch: Fetch, headers: dict[str, str], **kwargs: Any) -> int:
    try:
        response = await jp_fetch(
            "restified",
            "a.ipynb",
            headers={"Authorization": "", **headers},
            follow_redirects=False,
            **kwargs,
        )
    except HTTPClientError as err:
        return err.code
    assert json.loads(response.body) == 2
    return response.code


async def test_a_cross_site_request_with_the_cookie_runs_nothing(
    jp_fetch: Fetch, marker: Path, jp_http_port: int
) -> None:
    browser = await browser_cookies(jp_fetch)
    cookie = {"Cookie": cookie_header(browser)}
    attacks = [
        {},  # an older browser's <img src>: the cookie and nothing else
        {"Sec-Fetch-Site": "cross-site", "Referer": "https://evil.example/page"},
        {"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "no-cors"},
        {"Referer": "https://evil.example/page"},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},  # a sandboxed frame
        {"Referer": f"https://127.0.0.1.evil.example:{jp_http_port}/"},
        {"X-XSRFToken": "2|00000000|00000000000000000000000000000000|1700000000"},
    ]
    for headers in attacks:
        # 403; 404 where jupyter_server's own check of a foreign Origin answers first
        assert await call_with(jp_fetch, {**cookie, **headers}) in (403, 404), headers
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("restified", "a.ipynb", headers={"Authorization": "", **cookie})
    assert err.value.response is not None
    error = json.loads(err.value.response.body)["error"]
    assert error["type"] == "forbidden"
    assert "login cookie" in error["message"]
    assert not marker.exists()


async def test_the_servers_own_pages_and_typed_urls_run(
    jp_fetch: Fetch, marker: Path, jp_http_port: int, jp_base_url: str
) -> None:
    browser = await browser_cookies(jp_fetch)
    cookie = {"Cookie": cookie_header(browser)}
    here = f"http://127.0.0.1:{jp_http_port}"
    proofs = [
        {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"},  # Lab's fetch
        {"Sec-Fetch-Site": "none"},  # a URL typed in the address bar
        {"Referer": f"{here}{jp_base_url}lab/tree/a.ipynb"},
        {"Origin": here},
        {"X-XSRFToken": browser["_xsrf"]},  # what JupyterLab's requests send
    ]
    for headers in proofs:
        assert await call_with(jp_fetch, {**cookie, **headers}) == 200, headers
    # A POST from the panel: the XSRF header, as jupyter_server asks of every cookie POST.
    code = await call_with(
        jp_fetch,
        {**cookie, "X-XSRFToken": browser["_xsrf"], "Sec-Fetch-Site": "same-origin"},
        method="POST",
        body="{}",
    )
    assert code == 200


async def test_tokens_and_keys_need_no_proof(
    jp_fetch: Fetch, marker: Path, jp_serverapp: Any
) -> None:
    token = jp_serverapp.identity_provider.token
    browser = await browser_cookies(jp_fetch)
    cross = {"Cookie": cookie_header(browser), "Sec-Fetch-Site": "cross-site"}
    assert await call_with(jp_fetch, {**cross, "Authorization": f"token {token}"}) == 200
    assert await call_with(jp_fetch, cross, params={"token": token}) == 200
    secret = (await create_key(jp_fetch))["secret"]
    assert await call_with(jp_fetch, {**cross, **bearer(secret)}) == 200
    assert await call_with(jp_fetch, cross, params={"key": secret}) == 200
    # A script with the token and no cookie at all, as ever.
    assert await call_with(jp_fetch, {"Authorization": f"token {token}"}) == 200
