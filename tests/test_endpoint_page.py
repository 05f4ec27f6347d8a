"""The endpoint's page and the index through a real server: a browser gets a page and
nothing runs; programs keep their results; who sees what; the login redirect; shared
links; escaping; assets; the index of endpoints and its cache."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from tornado.httpclient import HTTPClientError, HTTPResponse

from notebook_restified import endpoints_index
from notebook_restified.endpoints_index import EndpointsIndex
from notebook_restified.server.page import CONTENT_SECURITY_POLICY, STATIC_DIR, prefers_html

from .notebooks import write_notebook

Fetch = Callable[..., Awaitable[HTTPResponse]]

pytestmark = pytest.mark.timeout(240)

#: What Chromium and Firefox send when navigating to a page.
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"
NO_TOKEN = {"Authorization": ""}
SCRIPT = "<script>window.pwned = 1</script>"


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"notebook_restified": True}}}


@pytest.fixture
def notebooks(jp_root_dir: Path, tmp_path: Path) -> Path:
    """``a.ipynb`` (an endpoint whose call touches a marker file), ``b.ipynb`` (another),
    ``plain.ipynb`` (no tags) and ``.hidden/c.ipynb``; returns the marker's path."""
    marker = tmp_path / "ran"
    write_notebook(
        jp_root_dir / "a.ipynb",
        f"# md # Doubler\n\nDoubles **n**. {SCRIPT}",
        "import pathlib",
        ("n: int = 1  # what to double", ["parameters"]),
        (f"pathlib.Path({str(marker)!r}).touch()\nn * 2", ["return"]),
    )
    write_notebook(jp_root_dir / "sub" / "b.ipynb", ("1 + 1", ["return"]))
    write_notebook(jp_root_dir / "plain.ipynb", "1 + 1")
    write_notebook(jp_root_dir / ".hidden" / "c.ipynb", ("1", ["return"]))
    return marker


async def fetch_error(jp_fetch: Fetch, *parts: str, **kwargs: Any) -> HTTPResponse:
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch(*parts, follow_redirects=False, **kwargs)
    assert caught.value.response is not None
    return caught.value.response


async def create_key(jp_fetch: Fetch, path: str) -> dict[str, Any]:
    body = json.dumps({"path": path, "label": "for Alice"})
    response = await jp_fetch("api", "restified", "keys", method="POST", body=body)
    return json.loads(response.body)  # type: ignore[no-any-return]


def test_which_accept_prefers_the_page() -> None:
    assert prefers_html(BROWSER)
    assert prefers_html("text/html")
    for program in (None, "", "*/*", "application/json", "text/csv", "image/png"):
        assert not prefers_html(program), program
    assert not prefers_html("text/html, application/json")  # a tie: the result
    assert not prefers_html("image/avif,image/webp,*/*;q=0.8")  # an <img>: the result


async def test_a_browser_gets_the_page_and_nothing_runs(
    jp_fetch: Fetch, notebooks: Path, jp_base_url: str
) -> None:
    response = await jp_fetch("restified", "a.ipynb", headers={"Accept": BROWSER})
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    page = response.body.decode()
    script = f'<script type="module" src="{jp_base_url}api/restified/assets/js/page/page.js">'
    assert script in page
    assert "<script>" not in page  # no inline script at all
    assert "Doubler" not in page  # the notebook's text comes from the page data only
    assert not notebooks.exists()

    # Programs keep today's behaviour: no Accept, */*, JSON.
    for accept in (None, "*/*", "application/json"):
        headers = {"Accept": accept} if accept else {}
        called = await jp_fetch("restified", "a.ipynb", params={"n": 4}, headers=headers)
        assert called.headers["Content-Type"].startswith("application/json")
        assert json.loads(called.body) == 8
    assert notebooks.exists()


async def test_a_browser_without_credentials_is_sent_to_log_in(
    jp_fetch: Fetch, notebooks: Path, jp_base_url: str
) -> None:
    headers = {**NO_TOKEN, "Accept": BROWSER}
    response = await fetch_error(jp_fetch, "restified", "a.ipynb", params={"n": 2}, headers=headers)
    assert response.code == 302
    location = urlparse(response.headers["Location"])
    assert location.path.endswith("/login")
    assert parse_qs(location.query)["next"] == [f"{jp_base_url}restified/a.ipynb?n=2"]
    # A program without credentials still gets the contract's 403.
    refused = await fetch_error(jp_fetch, "restified", "a.ipynb", headers=NO_TOKEN)
    assert refused.code == 403
    assert json.loads(refused.body)["error"]["type"] == "forbidden"
    assert not notebooks.exists()


async def test_without_a_login_page_a_browser_gets_the_page(
    jp_fetch: Fetch, notebooks: Path, jp_serverapp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `jupyter restified serve` has no login page to send a browser to (its page then says
    # which credential it needs; its data stays refused).
    monkeypatch.setattr(jp_serverapp, "serve_status", dict, raising=False)
    headers = {**NO_TOKEN, "Accept": BROWSER}
    page = await jp_fetch("restified", "a.ipynb", headers=headers)
    assert page.code == 200
    assert "Doubler" not in page.body.decode()
    index = await jp_fetch("restified/", headers=headers)
    assert 'data-view="index"' in index.body.decode()
    refused = await fetch_error(jp_fetch, "api", "restified", "page", "a.ipynb", headers=NO_TOKEN)
    assert refused.code == 403
    assert not notebooks.exists()


async def test_shared_and_key_links_get_the_page_without_content(
    jp_fetch: Fetch, notebooks: Path
) -> None:
    headers = {**NO_TOKEN, "Accept": BROWSER}
    shared = await jp_fetch("restified", "a.ipynb", params={"shared": ""}, headers=headers)
    assert shared.code == 200
    assert "Doubler" not in shared.body.decode()
    assert 'data-path="a.ipynb"' in shared.body.decode()
    key = await create_key(jp_fetch, "a.ipynb")
    keyed = await jp_fetch("restified", "a.ipynb", params={"key": key["secret"]}, headers=headers)
    assert keyed.code == 200
    assert "Doubler" not in keyed.body.decode()
    assert not notebooks.exists()


async def test_the_shell_escapes_the_path(jp_fetch: Fetch, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir / 'x"<b>&.ipynb', ("1", ["return"]))
    response = await jp_fetch("restified", 'x"<b>&.ipynb', headers={"Accept": BROWSER})
    page = response.body.decode()
    assert 'data-path="x&quot;&lt;b&gt;&amp;.ipynb"' in page
    assert "<b>" not in page


async def test_page_data_for_a_server_user(
    jp_fetch: Fetch, notebooks: Path, jp_base_url: str
) -> None:
    response = await jp_fetch("api", "restified", "page", "a.ipynb")
    data = json.loads(response.body)
    assert data["title"] == "Doubler"
    assert data["description"] == f"Doubles **n**. {SCRIPT}"  # text, escaped by the page
    assert data["parameters"] == [
        {
            "name": "n",
            "type": "int",
            "default": 1,
            "help": "what to double",
            "nullable": False,
            "schema": {"type": "integer", "default": 1, "description": "what to double"},
            "input": "integer",
        }
    ]
    assert data["caller"] == {"kind": "user", "can_read": True}
    assert data["url"].endswith("/restified/a.ipynb")
    assert data["openapi"] == f"{jp_base_url}api/restified/openapi/a.ipynb"
    assert data["index"] == f"{jp_base_url}restified/"
    assert data["cells"] == {"3": f"pathlib.Path({str(notebooks)!r}).touch()\nn * 2"}
    assert response.headers["Cache-Control"] == "no-store"
    assert not notebooks.exists()


async def test_page_data_for_a_key_holder(jp_fetch: Fetch, notebooks: Path) -> None:
    key = await create_key(jp_fetch, "a.ipynb")
    bearer = {"Authorization": f"Bearer {key['secret']}"}
    data = json.loads((await jp_fetch("api", "restified", "page", "a.ipynb", headers=bearer)).body)
    assert data["title"] == "Doubler"
    assert data["caller"] == {"kind": "key", "label": "for Alice", "can_read": False}
    assert data["openapi"] is None
    assert data["index"] is None
    assert data["cells"] is None  # a key holder does not see the notebook's code
    # The key opens its own notebook's page only; nothing without credentials.
    other = await fetch_error(jp_fetch, "api", "restified", "page", "sub/b.ipynb", headers=bearer)
    assert other.code == 403
    anonymous = await fetch_error(jp_fetch, "api", "restified", "page", "a.ipynb", headers=NO_TOKEN)
    assert anonymous.code == 403
    by_query = await fetch_error(
        jp_fetch,
        "api",
        "restified",
        "page",
        "a.ipynb",
        params={"key": key["secret"]},
        headers=NO_TOKEN,
    )
    assert by_query.code == 403  # the page sends its key in the header
    missing = await fetch_error(jp_fetch, "api", "restified", "page", "nope.ipynb")
    assert missing.code == 404


async def test_assets_are_served_to_anyone(jp_fetch: Fetch) -> None:
    css = await jp_fetch("api", "restified", "assets", "page.css", headers=NO_TOKEN)
    assert css.headers["Content-Type"].startswith("text/css")
    assert css.headers["X-Content-Type-Options"] == "nosniff"
    script = await jp_fetch("api", "restified", "assets", "js", "page", "page.js", headers=NO_TOKEN)
    assert "javascript" in script.headers["Content-Type"]
    assert b"innerHTML" not in script.body  # all the page's DOM is built from text
    outside = await fetch_error(jp_fetch, "api", "restified", "assets", "..%2F__init__.py")
    assert outside.code in (403, 404)
    assert Path(STATIC_DIR, "page.css").is_file()


async def test_the_index(jp_fetch: Fetch, notebooks: Path, jp_root_dir: Path) -> None:
    response = await jp_fetch("restified/")
    listed = json.loads(response.body)["endpoints"]
    assert [e["path"] for e in listed] == ["a.ipynb", "sub/b.ipynb"]  # no plain, no hidden
    first = listed[0]
    assert first["title"] == "Doubler"
    assert first["url"].endswith("/restified/a.ipynb")
    assert [p["name"] for p in first["parameters"]] == ["n"]
    assert listed[1]["title"] == "b"

    # A saved change shows at once; a notebook whose tags make no function is listed with why.
    write_notebook(
        jp_root_dir / "sub" / "b.ipynb",
        ("x = 1", ["parameters"]),
        ("1", ["return"]),
        ("2", ["return"]),
    )
    again = json.loads((await jp_fetch("restified/")).body)["endpoints"]
    assert again[1]["path"] == "sub/b.ipynb"
    assert "return" in again[1]["error"]

    page = await jp_fetch("restified/", headers={"Accept": BROWSER})
    assert page.headers["Content-Type"].startswith("text/html")
    assert 'data-view="index"' in page.body.decode()
    assert not notebooks.exists()


async def test_the_index_is_for_token_holders(jp_fetch: Fetch, notebooks: Path) -> None:
    key = await create_key(jp_fetch, "a.ipynb")
    keyed = await fetch_error(
        jp_fetch, "restified/", headers={"Authorization": f"Bearer {key['secret']}"}
    )
    assert keyed.code == 403
    anonymous = await fetch_error(jp_fetch, "restified/", headers=NO_TOKEN)
    assert anonymous.code == 403
    browser = await fetch_error(jp_fetch, "restified/", headers={**NO_TOKEN, "Accept": BROWSER})
    assert browser.code == 302


def test_index_reads_each_notebook_once_per_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(40):
        write_notebook(tmp_path / f"d{i % 4}" / f"n{i}.ipynb", (f"x = {i}", ["parameters"]))
    for i in range(2000):  # other files are only listed
        (tmp_path / f"file{i}.txt").write_text("x")
    reads: list[str] = []
    real = endpoints_index.read_entry

    def counting(full: str, path: str) -> Any:
        reads.append(path)
        return real(full, path)

    monkeypatch.setattr(endpoints_index, "read_entry", counting)
    index = EndpointsIndex(str(tmp_path))
    assert len(index.list()) == 40
    assert len(reads) == 40
    assert len(index.list()) == 40
    assert len(reads) == 40  # nothing changed: nothing read
    write_notebook(tmp_path / "d1" / "n1.ipynb", ("y = 2", ["parameters"]))
    (tmp_path / "d2" / "n2.ipynb").unlink()
    listed = index.list()
    assert reads[40:] == ["d1/n1.ipynb"]
    assert [p["name"] for e in listed if e["path"] == "d1/n1.ipynb" for p in e["parameters"]] == [
        "y"
    ]
    assert "d2/n2.ipynb" not in [e["path"] for e in listed]
