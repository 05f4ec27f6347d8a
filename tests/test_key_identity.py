"""Endpoint keys and the server's identity provider: a request presenting a key is never
shown to the provider (behind JupyterHub, the provider would send the key to the hub to
check as a token), not even a key sent where the server's token goes (which is refused,
saying how to send a key); tokens still are; and each key records the user who made it."""

from __future__ import annotations

import json
import logging
import secrets
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.auth import IdentityProvider, User
from tornado.web import RequestHandler

from notebook_restified.keys import FILE_VERSION, KeyStore, root_id
from notebook_restified.server.app import RestifiedApp

from .notebooks import Fetch, bearer, fetch, old_key, write_doublers

pytestmark = pytest.mark.timeout(240)

#: Personal tokens of the users the recording provider knows.
USERS = {
    "alice-token": User("alice", name="Alice Liddell", display_name="Alice"),
    "bob-token": User("bob"),
}


class RecordingIdentityProvider(IdentityProvider):
    """The server's identity provider, which knows alice and bob by their personal tokens
    (and the server's token), and writes down everything each request shows it: its URI,
    headers and body, and every token it looks up."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seen: list[str] = []
        self.tokens: list[str] = []

    def get_user(self, handler: RequestHandler) -> Any:
        request = handler.request
        headers = "\n".join(f"{name}: {value}" for name, value in request.headers.get_all())
        body = (request.body or b"").decode("utf-8", "replace")
        self.seen.append(f"{request.method} {request.uri}\n{headers}\n\n{body}")
        return super().get_user(handler)

    def get_token(self, handler: RequestHandler) -> str | None:
        token = super().get_token(handler)
        if token:
            self.tokens.append(token)
        return token

    async def get_user_token(self, handler: RequestHandler) -> User | None:
        token = self.get_token(handler)
        if token in USERS:
            return USERS[token]
        return await super().get_user_token(handler)


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"notebook_restified": True},
            "identity_provider_class": RecordingIdentityProvider,
        },
    }


@pytest.fixture
def provider(jp_serverapp: Any) -> RecordingIdentityProvider:
    found = jp_serverapp.identity_provider
    assert isinstance(found, RecordingIdentityProvider)
    return found


@pytest.fixture
def marker(jp_root_dir: Path, tmp_path: Path) -> Path:
    """``a.ipynb`` and ``b.ipynb`` touch the marker when they run."""
    return write_doublers(jp_root_dir, tmp_path / "ran", "a.ipynb", "b.ipynb")


def as_user(token: str) -> dict[str, str]:
    return {"Authorization": f"token {token}"}


async def create_key(jp_fetch: Fetch, token: str, label: str, path: str = "a.ipynb") -> Any:
    status, body = await fetch(
        jp_fetch,
        "api",
        "restified",
        "keys",
        method="POST",
        body=json.dumps({"path": path, "label": label}),
        headers=as_user(token),
    )
    assert status == 201, body
    return body


async def test_an_endpoint_key_never_reaches_the_identity_provider(
    jp_fetch: Fetch, provider: RecordingIdentityProvider, marker: Path
) -> None:
    secret = (await create_key(jp_fetch, "alice-token", "for Carol"))["secret"]
    hidden = secret.split("_", 2)[2]
    provider.seen.clear()
    provider.tokens.clear()
    anonymous = {"Authorization": ""}

    # Every way a key holder calls: the query, the header, a POST with a JSON body.
    assert await fetch(
        jp_fetch, "restified", "a.ipynb", params={"n": 2, "key": secret}, headers=anonymous
    ) == (200, 4)
    assert await fetch(
        jp_fetch, "restified", "a.ipynb", params={"n": 3}, headers=bearer(secret)
    ) == (200, 6)
    assert await fetch(
        jp_fetch, "restified", "a.ipynb", method="POST", body='{"n": 4}', headers=bearer(secret)
    ) == (200, 8)
    # The endpoint's page and its data, as the shared link opens them.
    page = {**anonymous, "Accept": "text/html"}
    assert (await fetch(jp_fetch, "restified", "a.ipynb", params={"key": secret}, headers=page))[
        0
    ] == 200
    status, data = await fetch(
        jp_fetch, "api", "restified", "page", "a.ipynb", headers=bearer(secret)
    )
    assert status == 200
    assert data["caller"]["kind"] == "key"
    # What the key does not open is refused without asking the provider either.
    refused = [
        (("restified", "b.ipynb"), {"headers": bearer(secret)}),
        (("api", "restified", "spec", "a.ipynb"), {"headers": bearer(secret)}),
        (("api", "restified", "openapi", "a.ipynb"), {"headers": bearer(secret)}),
        (("api", "restified", "keys"), {"headers": bearer(secret)}),
        (("api", "restified", "status"), {"params": {"key": secret}, "headers": anonymous}),
        # ... and on the server's own routes, where the provider is asked about any other
        # request.
        (("api", "contents"), {"headers": bearer(secret)}),
        (("api", "contents", "a.ipynb"), {"params": {"key": secret}, "headers": anonymous}),
        (("api", "kernels"), {"method": "POST", "body": "{}", "headers": bearer(secret)}),
        (("api", "sessions"), {"params": {"key": secret}, "headers": anonymous}),
        (
            ("restified", "a.ipynb"),
            {"method": "POST", "body": "{}", "params": {"key": secret}, "headers": anonymous},
        ),
    ]
    for parts, kwargs in refused:
        assert (await fetch(jp_fetch, *parts, **kwargs))[0] == 403, parts

    seen = "\n".join(provider.seen + provider.tokens)
    assert hidden not in seen
    assert provider.tokens == []
    assert provider.seen == []  # no keyed request was shown to the provider at all

    # Tokens still go to the provider, and it still decides.
    assert await fetch(
        jp_fetch, "restified", "a.ipynb", params={"n": 5}, headers=as_user("bob-token")
    ) == (200, 10)
    assert "bob-token" in provider.tokens
    assert (await fetch(jp_fetch, "restified", "a.ipynb", headers=bearer("not-a-key")))[0] == 403
    assert "not-a-key" in provider.tokens
    assert (await fetch(jp_fetch, "restified", "a.ipynb", headers=anonymous))[0] == 403
    # A `key` argument that is no endpoint key is no business of the extension's.
    assert (await fetch(jp_fetch, "api", "contents", params={"key": "not-ours"}))[0] == 200


async def test_a_key_sent_where_the_servers_token_goes_is_refused_unseen_by_the_provider(
    jp_fetch: Fetch, provider: RecordingIdentityProvider, marker: Path, app: RestifiedApp
) -> None:
    secret = (await create_key(jp_fetch, "alice-token", "for Carol"))["secret"]
    hidden = secret.split("_", 2)[2]
    # A run made with the key, for the runs routes to be asked about.
    status, made = await fetch(
        jp_fetch,
        "restified",
        "a.ipynb",
        method="POST",
        body='{"n": 1}',
        headers={**bearer(secret), "Prefer": "respond-async"},
    )
    assert status == 202, made
    run = await app.runs.wait(made["id"], 60)
    assert run is not None
    assert run.status == "succeeded"
    marker.unlink()
    provider.seen.clear()
    provider.tokens.clear()

    # Where a client sends the server's token: the token scheme (or another, or none) and
    # ?token=. Each POST brings a forged XSRF pair, so the XSRF check does not refuse it first.
    forged = secrets.token_hex(16)
    xsrf = {"Cookie": f"_xsrf={forged}", "X-XSRFToken": forged}
    ways: list[tuple[dict[str, str], dict[str, str]]] = [
        ({}, {"Authorization": f"token {secret}"}),
        ({}, {"Authorization": f"Token {secret}"}),
        ({}, {"Authorization": secret}),
        ({}, {"Authorization": f"Basic {secret}"}),
        ({"token": secret}, {"Authorization": ""}),
    ]
    routes: list[tuple[str, tuple[str, ...], dict[str, Any]]] = [
        ("GET", ("restified", "a.ipynb"), {"n": 2}),
        ("POST", ("restified", "a.ipynb"), {}),
        ("GET", ("api", "restified", "runs", made["id"]), {}),
        ("GET", ("api", "restified", "runs", made["id"], "result"), {}),
        ("DELETE", ("api", "restified", "runs", made["id"]), {}),
        ("GET", ("api", "restified", "runs"), {}),
    ]
    for params, headers in ways:
        for method, parts, more in routes:
            post = method != "GET"
            status, body = await fetch(
                jp_fetch,
                *parts,
                method=method,
                body='{"n": 2}' if method == "POST" else None,
                params={**params, **more, **({"_xsrf": forged} if post else {})},
                headers={**headers, **(xsrf if post else {})},
            )
            assert status == 403, (method, parts, headers, params, body)
            # Refused for where the key is, saying where it goes.
            assert body["error"]["type"] == "forbidden", body
            assert (
                "send a key in the header as Authorization: Bearer <key>"
                in (body["error"]["message"])
            ), body
        # The server's own routes know no user for it either (and do not ask).
        for parts in (("api", "contents"), ("api", "kernels")):
            assert (await fetch(jp_fetch, *parts, params=params, headers=headers))[0] == 403

    assert not marker.exists()
    after = app.runs.get(made["id"])
    assert after is not None
    assert after.status == "succeeded"
    seen = "\n".join(provider.seen + provider.tokens)
    assert hidden not in seen
    assert provider.tokens == []
    assert provider.seen == []  # none of these requests was shown to the provider
    # The same key sent as a key runs the notebook.
    assert await fetch(
        jp_fetch, "restified", "a.ipynb", params={"n": 3}, headers=bearer(secret)
    ) == (
        200,
        6,
    )


async def test_a_key_argument_without_the_key_prefix_is_refused_as_a_key(
    jp_fetch: Fetch, provider: RecordingIdentityProvider, marker: Path, app: RestifiedApp
) -> None:
    """``?key=`` that is no endpoint key (no ``nrk_``) holds no key to keep from the
    provider, which never reads a ``key`` argument: it sees the request as any other. The
    extension's routes still take the argument as a key, and refuse it: a server user's
    token beside it does not make the request the user's."""
    provider.seen.clear()
    provider.tokens.clear()
    stray = {"key": "3f9c0a_not-an-endpoint-key"}
    for parts in (("restified", "a.ipynb"), ("api", "restified", "runs")):
        status, body = await fetch(jp_fetch, *parts, params=stray, headers=as_user("alice-token"))
        assert status == 403, (parts, body)
        assert "this key is not valid" in body["error"]["message"], body
    assert not marker.exists()
    assert provider.tokens == ["alice-token", "alice-token"]
    assert all("not-an-endpoint-key" in seen for seen in provider.seen)
    assert len(provider.seen) == 2


async def test_each_key_records_who_made_it(
    jp_fetch: Fetch,
    provider: RecordingIdentityProvider,
    marker: Path,
    app: RestifiedApp,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    alices = await create_key(jp_fetch, "alice-token", "for Carol")
    bobs = await create_key(jp_fetch, "bob-token", "for Dave")
    assert alices["creator"] == {"username": "alice", "display_name": "Alice"}
    assert bobs["creator"] == {"username": "bob", "display_name": "bob"}
    created = [r.getMessage() for r in caplog.records if "created for" in r.getMessage()]
    assert any(alices["id"] in m and "by alice" in m for m in created), created
    assert any(bobs["id"] in m and "by bob" in m for m in created), created

    # Everyone who may read the keys sees who made each.
    status, listed = await fetch(
        jp_fetch,
        "api",
        "restified",
        "keys",
        params={"path": "a.ipynb"},
        headers=as_user("bob-token"),
    )
    assert status == 200
    makers = {k["label"]: k["creator"] for k in listed["keys"]}
    assert makers == {
        "for Carol": {"username": "alice", "display_name": "Alice"},
        "for Dave": {"username": "bob", "display_name": "bob"},
    }
    # Stored with the key, in the keys file (with its secret only as a hash).
    stored = json.loads(Path(app.keys_path()).read_text())
    assert stored["version"] == FILE_VERSION
    assert {k["id"]: k["creator"]["username"] for k in stored["keys"]} == {
        alices["id"]: "alice",
        bobs["id"]: "bob",
    }

    # Each keyed call is logged with its key's id and maker, never the secret.
    caplog.clear()
    assert await fetch(jp_fetch, "restified", "a.ipynb", headers=bearer(alices["secret"])) == (
        200,
        2,
    )
    assert (await fetch(jp_fetch, "restified", "b.ipynb", headers=bearer(bobs["secret"])))[0] == 403
    lines = [r.getMessage() for r in caplog.records if "keyed call" in r.getMessage()]
    assert any(
        alices["id"] in m and "made by alice" in m and "a.ipynb" in m and "200" in m for m in lines
    ), lines
    assert any(
        bobs["id"] in m and "made by bob" in m and "b.ipynb" in m and "403" in m for m in lines
    ), lines
    assert not any("made by" in m for m in lines if alices["id"] not in m and bobs["id"] not in m)
    for key in (alices, bobs):
        assert key["secret"].split("_", 2)[2] not in caplog.text


def test_a_keys_file_without_makers_is_read_and_kept(tmp_path: Path) -> None:
    """Keys made before keys recorded their maker keep working and show none; the file
    moves to this version when a key is made."""
    root = tmp_path / "root"
    root.mkdir()
    keys_file = tmp_path / "keys.json"
    secret, entry = old_key("from version 2", last_used=None, calls=3, root=root_id(root))
    key_id = entry["id"]
    keys_file.write_text(json.dumps({"version": 2, "keys": [entry]}))
    store = KeyStore(keys_file, root=root_id(root))
    assert store.verify(secret, "a.ipynb").id == key_id
    (old,) = store.list()
    assert old.public()["creator"] is None
    assert old.public()["calls"] == 3

    made, _ = store.create("a.ipynb", "new", creator={"username": "alice", "display_name": "A"})
    data = json.loads(keys_file.read_text())
    assert data["version"] == FILE_VERSION
    by_id = {k["id"]: k for k in data["keys"]}
    assert by_id[key_id]["creator"] is None
    assert by_id[key_id]["calls"] == 3
    assert by_id[made.id]["creator"] == {"username": "alice", "display_name": "A"}
    # A fresh store (a restarted server) reads both.
    again = KeyStore(keys_file, root=root_id(root))
    assert {k.id: k.creator for k in again.list()} == {
        key_id: None,
        made.id: {"username": "alice", "display_name": "A"},
    }


def test_a_keys_file_with_a_malformed_maker_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keys_file = tmp_path / "keys.json"
    entry = {
        "id": "abc",
        "path": "a.ipynb",
        "label": "x",
        "created": "2026-01-01T00:00:00+00:00",
        "expires": None,
        "salt": "00" * 16,
        "hash": "00",
        "root": root_id(tmp_path),
        "creator": ["alice"],
    }
    keys_file.write_text(json.dumps({"version": 3, "keys": [entry]}))
    caplog.set_level(logging.ERROR)
    store = KeyStore(keys_file, root=root_id(tmp_path))
    assert "not a key's creator" in caplog.text
    with pytest.raises(Exception, match="unavailable"):
        store.list()
