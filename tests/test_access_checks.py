"""The two checks that stand between a request and a run, each proven by a request that
only that check refuses: a key in the query of a POST, or of a DELETE that cancels a run
(even with a forged XSRF pair, which gets it past the XSRF check), and the server's
authorizer (JupyterHub's is one that denies), asked for the right action on every route of
the extension."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.auth import Authorizer
from tornado.web import RequestHandler
from traitlets import List, Unicode

from notebook_restified.server.app import RestifiedApp

from .notebooks import Fetch, bearer, fetch, write_notebook

pytestmark = pytest.mark.timeout(240)

RESOURCE = "restified"


class DenyingAuthorizer(Authorizer):
    """Allows everything but the actions in ``denied`` on the extension's resource, and
    writes down every question it is asked."""

    denied = List(Unicode(), config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.asked: list[tuple[str, str, str]] = []

    def is_authorized(self, handler: RequestHandler, user: Any, action: str, resource: str) -> bool:
        self.asked.append((action, resource, handler.request.path))
        return not (resource == RESOURCE and action in self.denied)


def config(*denied: str) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"notebook_restified": True},
            "authorizer_class": DenyingAuthorizer,
        },
        "DenyingAuthorizer": {"denied": list(denied)},
        # A run of its own for each test's runs, so none waits behind another.
        "RestifiedApp": {"run_pool_size": 2},
    }


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return config()


async def test_a_key_in_the_query_of_a_post_is_refused_past_a_forged_xsrf_pair(
    jp_fetch: Fetch, marker: Path
) -> None:
    status, key = await fetch(
        jp_fetch,
        "api",
        "restified",
        "keys",
        method="POST",
        body=json.dumps({"path": "a.ipynb", "label": "for Alice"}),
    )
    assert status == 201
    forged = secrets.token_hex(16)  # a page can set any _xsrf cookie on the victim's site
    status, body = await fetch(
        jp_fetch,
        "restified",
        "a.ipynb",
        method="POST",
        body='{"n": 3}',
        params={"key": key["secret"], "_xsrf": forged},
        headers={"Authorization": "", "Cookie": f"_xsrf={forged}", "X-XSRFToken": forged},
    )
    assert status == 403
    # Refused because of where the key is, not by the XSRF check (which the pair passes).
    assert "in the header" in body["error"]["message"], body
    assert not marker.exists()
    # The same key in the header runs the notebook.
    assert await fetch(
        jp_fetch,
        "restified",
        "a.ipynb",
        method="POST",
        body='{"n": 3}',
        headers={"Authorization": f"Bearer {key['secret']}"},
    ) == (200, 6)
    assert marker.exists()


def write_sleeper(root: Path) -> str:
    """``sleeps.ipynb``: sleeps ``seconds`` (60) then returns; its path."""
    write_notebook(
        root / "sleeps.ipynb",
        "import time",
        ("seconds = 60.0", ["parameters"]),
        ("time.sleep(seconds)\n'woke'", ["return"]),
    )
    return "sleeps.ipynb"


async def test_a_key_in_the_query_of_a_delete_of_a_run_is_refused_past_a_forged_xsrf_pair(
    jp_fetch: Fetch, jp_root_dir: Path, app: RestifiedApp
) -> None:
    path = write_sleeper(jp_root_dir)
    secret = app.keys.create(path, "for Alice")[1]
    status, run = await fetch(
        jp_fetch,
        "restified",
        path,
        method="POST",
        body="{}",
        headers={**bearer(secret), "Prefer": "respond-async"},
    )
    assert status == 202, run
    forged = secrets.token_hex(16)
    status, body = await fetch(
        jp_fetch,
        "api",
        "restified",
        "runs",
        run["id"],
        method="DELETE",
        params={"key": secret, "_xsrf": forged},
        headers={"Authorization": "", "Cookie": f"_xsrf={forged}", "X-XSRFToken": forged},
    )
    assert status == 403
    # Refused because of where the key is, as a POST's is, not by the XSRF check.
    assert body["error"] == {
        "type": "forbidden",
        "message": "send a key with a DELETE in the header: Authorization: Bearer <key>",
    }
    still = app.runs.get(run["id"])
    assert still is not None
    assert still.status in ("queued", "running")  # not cancelled
    # The same key in the header cancels it.
    status, cancelled = await fetch(
        jp_fetch, "api", "restified", "runs", run["id"], method="DELETE", headers=bearer(secret)
    )
    assert (status, cancelled["status"]) == (200, "cancelled")


#: Every route of the extension a server user reaches, with the action it needs:
#: (action, method, path parts, request keywords).
ROUTES: list[tuple[str, str, tuple[str, ...], dict[str, Any]]] = [
    ("execute", "GET", ("restified", "a.ipynb"), {}),
    ("execute", "POST", ("restified", "a.ipynb"), {"body": '{"n": 2}'}),
    (
        "execute",
        "POST",
        ("restified", "a.ipynb"),
        {"body": '{"n": 2}', "headers": {"Prefer": "respond-async"}},
    ),
    ("execute", "GET", ("api", "restified", "page", "a.ipynb"), {}),
    ("read", "GET", ("api", "restified", "spec", "a.ipynb"), {}),
    (
        "read",
        "POST",
        ("api", "restified", "spec", "a.ipynb"),
        {"body": '{"cells": [{"cell_type": "code", "source": "1", "metadata": {}}]}'},
    ),
    ("read", "GET", ("api", "restified", "openapi", "a.ipynb"), {}),
    ("read", "GET", ("api", "restified", "keys"), {}),
    ("read", "GET", ("api", "restified", "runs"), {}),
    ("read", "GET", ("api", "restified", "status"), {}),
    ("read", "GET", ("restified",), {"headers": {"Accept": "application/json"}}),
    ("write", "POST", ("api", "restified", "keys"), {"body": '{"path": "a.ipynb", "label": "x"}'}),
]


#: The runs routes, asked about runs made beforehand: ``{done}`` (a run that succeeded) and
#: ``{live}`` (one still running, which a DELETE cancels).
RUN_ROUTES: list[tuple[str, str, tuple[str, ...], dict[str, Any]]] = [
    ("read", "GET", ("api", "restified", "runs"), {"params": {"path": "r.ipynb"}}),
    ("read", "GET", ("api", "restified", "runs", "{done}"), {}),
    ("read", "GET", ("api", "restified", "runs", "{done}", "result"), {}),
    ("read", "GET", ("api", "restified", "runs", "{done}", "notebook"), {}),
    ("read", "GET", ("api", "restified", "runs", "{done}", "events"), {}),
    ("execute", "DELETE", ("api", "restified", "runs", "{live}"), {}),
]


async def request_answer(
    jp_fetch: Fetch, method: str, parts: tuple[str, ...], **kwargs: Any
) -> tuple[int, Any]:
    if parts == ("restified",):  # the index: a trailing slash
        parts = ("restified/",)
    if "headers" in kwargs:  # jp_fetch adds the token to the dict it is given
        kwargs = {**kwargs, "headers": dict(kwargs["headers"])}
    return await fetch(jp_fetch, *parts, method=method, **kwargs)


async def request(jp_fetch: Fetch, method: str, parts: tuple[str, ...], **kwargs: Any) -> int:
    status, _ = await request_answer(jp_fetch, method, parts, **kwargs)
    return status


async def made_runs(app: RestifiedApp, root: Path) -> dict[str, str]:
    """Runs made by the server itself, as a server user's would be: ``done``, a run of
    ``r.ipynb`` that succeeded, and ``live``, one of ``sleeps.ipynb`` still running."""
    write_notebook(root / "r.ipynb", ("n: int = 1", ["parameters"]), ("n * 3", ["return"]))
    write_sleeper(root)
    done = await app.runs.submit("r.ipynb", await app.service.load_saved("r.ipynb"), {"n": 2})
    finished = await app.runs.wait(done.id, 60)
    assert finished is not None
    assert finished.status == "succeeded"
    saved = await app.service.load_saved("sleeps.ipynb")
    live = await app.runs.submit("sleeps.ipynb", saved, {})
    return {"done": done.id, "live": live.id}


@pytest.mark.parametrize(
    "jp_server_config",
    [config("execute"), config("read"), config("write")],
    ids=lambda c: c["DenyingAuthorizer"]["denied"][0],
)
async def test_an_authorizer_that_denies_an_action_closes_exactly_its_routes(
    jp_fetch: Fetch,
    jp_serverapp: Any,
    jp_server_config: dict[str, Any],
    jp_root_dir: Path,
    marker: Path,
    app: RestifiedApp,
) -> None:
    authorizer = jp_serverapp.authorizer
    assert isinstance(authorizer, DenyingAuthorizer)
    (denied,) = jp_server_config["DenyingAuthorizer"]["denied"]
    runs = await made_runs(app, jp_root_dir)
    run_routes = [
        (action, method, tuple(part.format(**runs) for part in parts), kwargs)
        for action, method, parts, kwargs in RUN_ROUTES
    ]
    for action, method, parts, kwargs in ROUTES + run_routes:
        authorizer.asked.clear()
        status, body = await request_answer(jp_fetch, method, parts, **kwargs)
        if action == denied:
            assert status == 403, (method, parts, kwargs)
            assert (action, RESOURCE) in {(a, r) for a, r, _ in authorizer.asked}, parts
            if parts in [p for _, _, p, _ in run_routes]:  # nothing of a run disclosed
                message = f"not authorized to {action} on {RESOURCE}"
                assert body == {"error": {"type": "forbidden", "message": message}}, parts
        else:
            assert status in (200, 201, 202), (method, parts, kwargs, status)
    # Nothing ran, nothing was made, nothing was cancelled where the action was denied.
    ran = marker.exists()
    keys = app.keys.list()
    live = app.runs.get(runs["live"])
    assert live is not None
    if denied == "execute":
        assert not ran
        assert app.runs.find("a.ipynb", None) == []
        assert live.status in ("queued", "running")
        await app.runs.cancel(live.id)
    else:
        assert ran
        assert live.status == "cancelled"
    if denied == "write":
        assert keys == []
        # Revoking is writing too: a key made before (by the store itself) stays.
        key, _ = app.keys.create("a.ipynb", "made here")
        assert await request(jp_fetch, "DELETE", ("api", "restified", "keys", key.id)) == 403
        assert [k.id for k in app.keys.list()] == [key.id]
    else:
        assert [k.label for k in keys] == ["x"]
