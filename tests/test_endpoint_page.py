"""The endpoint's page and the index through a real server: a browser gets a page and
nothing runs; programs keep their results; who sees what; the login redirect; shared
links; escaping; assets; the index of endpoints and its cache."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import nbformat
import pytest
from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from tornado.httpclient import HTTPClientError, HTTPResponse
from traitlets import default

from notebook_restified.server import endpoints as server_endpoints
from notebook_restified.server.endpoints import EndpointsIndex
from notebook_restified.server.page import CONTENT_SECURITY_POLICY, STATIC_DIR, prefers_html

from .notebooks import descendants, write_notebook

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
    jp_fetch: Fetch, notebooks: Path, caplog: pytest.LogCaptureFixture
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
    # Logged as a view of the page (nothing ran), with the key's id and never its secret.
    logged = [r.getMessage() for r in caplog.records if key["id"] in r.getMessage()]
    assert any(m.startswith(f"keyed page: key {key['id']} ") for m in logged), logged
    assert not any("keyed call" in m for m in logged), logged
    assert not any(key["secret"] in r.getMessage() for r in caplog.records)


async def test_a_program_given_a_shared_links_url_gets_the_result(
    jp_fetch: Fetch, notebooks: Path, jp_root_dir: Path
) -> None:
    # `?shared` marks the link for the page; a program that calls it gets the result.
    key = await create_key(jp_fetch, "a.ipynb")
    bearer = {**NO_TOKEN, "Authorization": f"Bearer {key['secret']}"}
    called = await jp_fetch("restified", "a.ipynb", params={"shared": "", "n": 5}, headers=bearer)
    assert json.loads(called.body) == 10
    # A notebook that declares `shared` takes it as its value, even empty.
    write_notebook(
        jp_root_dir / "takes.ipynb", ("shared = 'x'", ["parameters"]), ("shared", ["return"])
    )
    taken = await jp_fetch("restified", "takes.ipynb", params={"shared": ""})
    assert json.loads(taken.body) == ""


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
    assert data["result_kind"] is None  # saved without its output
    assert response.headers["Cache-Control"] == "no-store"
    assert not notebooks.exists()


async def test_page_data_tells_the_kind_of_result_the_saved_output_shows(
    jp_fetch: Fetch, jp_root_dir: Path
) -> None:
    path = write_notebook(
        jp_root_dir / "chart.ipynb", ("fig = 1", ["parameters"]), ("fig", ["return"])
    )
    nb = nbformat.read(str(path), as_version=4)

    async def kind_when_saved_showing(shown: dict[str, str]) -> Any:
        nb.cells[1].outputs = [nbformat.v4.new_output("execute_result", shown)]
        nbformat.write(nb, str(path))
        data = json.loads((await jp_fetch("api", "restified", "page", "chart.ipynb")).body)
        return data["result_kind"]

    image = {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}
    assert await kind_when_saved_showing(image) == "image"
    table = {"text/html": '<table class="dataframe"></table>', "text/plain": "t"}
    assert await kind_when_saved_showing(table) == "table"


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
    # A key where the server's token goes is refused, saying how to send it.
    for misplaced in (
        {"headers": {"Authorization": f"token {key['secret']}"}},
        {"headers": NO_TOKEN, "params": {"token": key["secret"]}},
    ):
        refused = await fetch_error(jp_fetch, "api", "restified", "page", "a.ipynb", **misplaced)
        assert refused.code == 403
        error = json.loads(refused.body)["error"]
        assert error["type"] == "forbidden"
        assert "Authorization: Bearer <key>" in error["message"]
        assert key["secret"] not in refused.body.decode()
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


async def test_listing_the_index_starts_no_kernel(
    jp_fetch: Fetch, notebooks: Path, jp_serverapp: Any
) -> None:
    before = descendants()
    listed = json.loads((await jp_fetch("restified/")).body)["endpoints"]
    assert [e["path"] for e in listed] == ["a.ipynb", "sub/b.ipynb"]
    await jp_fetch("restified/", headers={"Accept": BROWSER})
    for path in ("a.ipynb", "sub/b.ipynb"):  # and the pages' data
        await jp_fetch("api", "restified", "page", path)
    await asyncio.sleep(1)  # a kernel started in the background would be on its way
    pool = json.loads((await jp_fetch("api", "restified", "status")).body)["pool"]
    assert pool["kernel_pids"] == []
    assert pool["warm_notebooks"] == []
    assert pool["spare_kernels"]["pids"] == []
    assert jp_serverapp.kernel_manager.list_kernels() == []
    assert descendants() - before == set()  # no process at all

    # What the checks above see once a call has run: they can fail.
    await jp_fetch("restified", "a.ipynb")
    pool = json.loads((await jp_fetch("api", "restified", "status")).body)["pool"]
    assert pool["kernel_pids"] != []
    assert descendants() - before != set()


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


async def test_the_index_lists_through_the_contents_manager_reading_each_notebook_once(
    jp_fetch: Fetch, jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(40):
        write_notebook(jp_root_dir / f"d{i % 4}" / f"n{i}.ipynb", (f"x = {i}", ["parameters"]))
    for i in range(60):  # notebooks without an endpoint
        write_notebook(jp_root_dir / f"d{i % 4}" / f"plain{i}.ipynb", "1 + 1")
    for i in range(1900):  # other files are only listed
        (jp_root_dir / f"file{i}.txt").write_text("x")
    # Hidden ones are never listed, even tagged.
    write_notebook(jp_root_dir / ".hidden" / "c.ipynb", ("1", ["return"]))
    write_notebook(jp_root_dir / ".dotted.ipynb", ("1", ["return"]))
    write_notebook(
        jp_root_dir / "d0" / ".ipynb_checkpoints" / "n0-checkpoint.ipynb", ("1", ["return"])
    )
    (jp_root_dir / "broken.ipynb").write_text("{not json")
    reads: list[str] = []
    real = server_endpoints.index_entry

    def counting(nb: Any, path: str) -> Any:
        reads.append(path)
        return real(nb, path)

    monkeypatch.setattr(server_endpoints, "index_entry", counting)

    async def listed() -> list[dict[str, Any]]:
        return json.loads((await jp_fetch("restified/")).body)["endpoints"]  # type: ignore[no-any-return]

    first = await listed()
    assert sorted(e["path"] for e in first) == sorted(f"d{i % 4}/n{i}.ipynb" for i in range(40))
    assert len(reads) == 100  # the 40 tagged and the 60 plain notebooks, once each
    assert await listed() == first
    assert len(reads) == 100  # nothing changed: nothing read
    write_notebook(jp_root_dir / "d1" / "n1.ipynb", ("y = 2", ["parameters"]))
    (jp_root_dir / "d2" / "n2.ipynb").unlink()
    again = await listed()
    assert reads[100:] == ["d1/n1.ipynb"]
    changed = next(e for e in again if e["path"] == "d1/n1.ipynb")
    assert [p["name"] for p in changed["parameters"]] == ["y"]
    assert "d2/n2.ipynb" not in [e["path"] for e in again]
    assert len(again) == 39


async def test_the_file_walk_follows_the_contents_managers_rules(
    jp_serverapp: Any, jp_root_dir: Path
) -> None:
    # The walk of a file-backed root follows the manager's own rules: the same endpoints as
    # its directory models give.
    cm = jp_serverapp.contents_manager
    cm.hide_globs = [*cm.hide_globs, "draft_*"]
    for name in ("a", "sub/b", "sub/deeper/c", "draft_d", "sub/draft_e", ".hidden/f", ".g"):
        write_notebook(jp_root_dir / f"{name}.ipynb", ("1", ["return"]))
    write_notebook(jp_root_dir / "plain.ipynb", "1")
    (jp_root_dir / "notes.txt").write_text("x")
    (jp_root_dir / "linked").symlink_to(jp_root_dir / "sub")
    walked = await EndpointsIndex(cm).endpoints()
    models = EndpointsIndex(cm)
    assert models.file_backed
    models_listing = await models._list_models()
    assert sorted(models_listing) == [
        "a.ipynb",
        "linked/b.ipynb",  # the manager follows a link inside its root; the walk does not
        "linked/deeper/c.ipynb",
        "plain.ipynb",
        "sub/b.ipynb",
        "sub/deeper/c.ipynb",
    ]
    assert [e["path"] for e in walked] == ["a.ipynb", "sub/b.ipynb", "sub/deeper/c.ipynb"]


class PublishedOnly(AsyncLargeFileManager):  # type: ignore[misc]
    """A contents manager of its own: rooted at ``published/`` and hiding drafts."""

    @default("root_dir")
    def _published(self) -> str:
        return str(Path(self.parent.root_dir) / "published")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hide_globs = [*self.hide_globs, "draft_*"]


class TestACustomContentsManager:
    @pytest.fixture
    def jp_server_config(self) -> dict[str, Any]:
        return {
            "ServerApp": {
                "jpserver_extensions": {"notebook_restified": True},
                "contents_manager_class": PublishedOnly,
            }
        }

    async def test_the_index_lists_what_it_shows(self, jp_root_dir: Path, jp_fetch: Fetch) -> None:
        write_notebook(jp_root_dir / "outside.ipynb", ("1", ["return"]))
        write_notebook(jp_root_dir / "published" / "report.ipynb", ("1", ["return"]))
        write_notebook(jp_root_dir / "published" / "draft_plan.ipynb", ("1", ["return"]))
        listed = json.loads((await jp_fetch("restified/")).body)["endpoints"]
        assert [e["path"] for e in listed] == ["report.ipynb"]
        # The same notebook is the endpoint the index links to.
        assert json.loads((await jp_fetch("restified", "report.ipynb")).body) == 1


async def test_restified_without_its_slash_redirects(jp_fetch: Fetch, jp_base_url: str) -> None:
    for headers in ({}, {**NO_TOKEN, "Accept": BROWSER}, {"Accept": BROWSER}):
        response = await fetch_error(jp_fetch, "restified", params={"x": "1"}, headers=headers)
        assert response.code == 301
        assert response.headers["Location"] == f"{jp_base_url}restified/?x=1"
    # A program without credentials gets what every route gives it.
    refused = await fetch_error(jp_fetch, "restified", headers=NO_TOKEN)
    assert refused.code == 403
    assert json.loads(refused.body)["error"]["type"] == "forbidden"
    # Only GET and HEAD are redirected; nothing else lives there.
    posted = await fetch_error(jp_fetch, "restified", method="POST", body="{}")
    assert posted.code in (404, 405)


async def test_the_page_sets_the_xsrf_cookie(jp_fetch: Fetch, notebooks: Path) -> None:
    # The page repeats it in X-XSRFToken when it POSTs a file with the login cookie.
    response = await jp_fetch("restified", "a.ipynb", headers={"Accept": BROWSER})
    assert "_xsrf=" in response.headers.get("Set-Cookie", "")
