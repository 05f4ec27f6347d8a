"""Endpoint keys through a real server: scope, revocation, expiry, rate, storage, logs."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from notebook_restified.server.app import RestifiedApp

from .notebooks import Fetch, bearer, create_key, post_with_key_in_query, status_of, write_doublers

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"notebook_restified": True, "jupyterlab": True}},
        "RestifiedApp": {"key_rate_limit": 30},
    }


@pytest.fixture
def notebooks(jp_root_dir: Path, tmp_path: Path) -> Path:
    """``a.ipynb`` and ``b.ipynb`` touch the marker when they run; returns the marker."""
    return write_doublers(jp_root_dir, tmp_path / "ran", "a.ipynb", "b.ipynb")


async def test_create_list_call_revoke(jp_fetch: Fetch, notebooks: Path, app: RestifiedApp) -> None:
    key = await create_key(jp_fetch)
    secret = key["secret"]
    assert secret.startswith("nrk_")
    assert key["link"] == f"{key['url']}?shared#key={secret}"  # the secret in the fragment
    assert key["url"].endswith("/restified/a.ipynb")

    response = await jp_fetch("restified", "a.ipynb", params={"n": 4}, headers=bearer(secret))
    assert json.loads(response.body) == 8
    by_query = await jp_fetch(
        "restified", "a.ipynb", params={"n": 5, "key": secret}, headers={"Authorization": ""}
    )
    assert json.loads(by_query.body) == 10  # `key` is never a parameter

    listed = json.loads(
        (await jp_fetch("api", "restified", "keys", params={"path": "a.ipynb"})).body
    )
    (entry,) = listed["keys"]
    assert entry["id"] == key["id"]
    assert entry["label"] == "for Alice"
    assert entry["calls"] == 2
    assert entry["last_used"] is not None
    assert "secret" not in entry
    assert "hash" not in entry
    assert json.loads(
        (await jp_fetch("api", "restified", "keys", params={"path": "b.ipynb"})).body
    ) == {"keys": []}

    deleted = await jp_fetch("api", "restified", "keys", key["id"], method="DELETE")
    assert deleted.code == 204
    assert await status_of(jp_fetch, "restified", "a.ipynb", headers=bearer(secret)) == 403
    assert await status_of(jp_fetch, "api", "restified", "keys", key["id"], method="DELETE") == 404


async def test_stored_hashed_in_a_private_file_that_survives_restarts(
    jp_fetch: Fetch, notebooks: Path, app: RestifiedApp
) -> None:
    key = await create_key(jp_fetch)
    path = Path(app.keys_path())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert key["secret"] not in text
    assert key["secret"].split("_", 2)[2] not in text
    # A new store on the same file (a restarted server) accepts the same key.
    from notebook_restified.keys import KeyStore

    assert KeyStore(path, root=app.key_root()).verify(key["secret"], "a.ipynb").id == key["id"]


async def test_a_key_opens_nothing_else(jp_fetch: Fetch, notebooks: Path) -> None:
    secret = (await create_key(jp_fetch))["secret"]
    headers = bearer(secret)
    refused = [
        ("restified", "b.ipynb"),
        ("api", "restified", "spec", "a.ipynb"),
        ("api", "restified", "openapi", "a.ipynb"),
        ("api", "restified", "spec", "b.ipynb"),
        ("api", "restified", "status"),
        ("api", "restified", "keys"),
        ("api", "contents"),
        ("api", "contents", "a.ipynb"),
        ("api", "kernels"),
        ("api", "sessions"),
        ("api", "terminals"),
    ]
    for parts in refused:
        assert await status_of(jp_fetch, *parts, headers=headers) == 403, parts
        params = {"key": secret}
        assert (
            await status_of(jp_fetch, *parts, params=params, headers={"Authorization": ""}) == 403
        ), parts
    # The key cannot make or delete keys, start kernels or open Lab.
    body = json.dumps({"path": "b.ipynb", "label": "x"})
    assert (
        await status_of(
            jp_fetch, "api", "restified", "keys", method="POST", body=body, headers=headers
        )
        == 403
    )
    assert (
        await status_of(jp_fetch, "api", "kernels", method="POST", body="{}", headers=headers)
        == 403
    )
    assert await status_of(jp_fetch, "lab", headers={"Authorization": ""}) == 302  # to login
    assert await status_of(jp_fetch, "lab", headers=headers) == 302
    assert (
        await status_of(jp_fetch, "lab", params={"key": secret}, headers={"Authorization": ""})
        == 302
    )


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s + "x",
        lambda s: s + "==",
        lambda s: s[:-1],
        lambda s: s.upper(),
        lambda s: "nrk_" + s.split("_", 2)[1] + "_" + "A" * 43,
        lambda s: s.replace("nrk_", "nrk__"),
    ],
)
async def test_mangled_keys_are_refused(
    jp_fetch: Fetch, notebooks: Path, mangle: Callable[[str], str]
) -> None:
    secret = (await create_key(jp_fetch))["secret"]
    assert await status_of(jp_fetch, "restified", "a.ipynb", headers=bearer(mangle(secret))) == 403
    assert not notebooks.exists()


async def test_a_thousand_wrong_keys_run_nothing(jp_fetch: Fetch, notebooks: Path) -> None:
    secret = (await create_key(jp_fetch))["secret"]
    prefix = secret.rsplit("_", 1)[0]

    async def attempt(i: int) -> int:
        return await status_of(
            jp_fetch, "restified", "a.ipynb", headers=bearer(f"{prefix}_{i:043d}")
        )

    for start in range(0, 1000, 100):
        codes = await asyncio.gather(*(attempt(i) for i in range(start, start + 100)))
        assert set(codes) == {403}
    assert not notebooks.exists()
    assert await status_of(jp_fetch, "restified", "a.ipynb", headers=bearer(secret)) == 200


async def test_a_key_for_a_is_refused_on_b(jp_fetch: Fetch, notebooks: Path) -> None:
    secret = (await create_key(jp_fetch, "a.ipynb"))["secret"]
    assert await status_of(jp_fetch, "restified", "b.ipynb", headers=bearer(secret)) == 403
    params = {"key": secret}
    assert (
        await status_of(
            jp_fetch, "restified", "b.ipynb", params=params, headers={"Authorization": ""}
        )
        == 403
    )
    assert not notebooks.exists()


async def test_a_key_in_the_query_of_a_post_is_refused(jp_fetch: Fetch, notebooks: Path) -> None:
    secret = (await create_key(jp_fetch))["secret"]
    code = await post_with_key_in_query(jp_fetch, secret)
    assert code == 403
    assert not notebooks.exists()
    ok = await jp_fetch(
        "restified", "a.ipynb", method="POST", body='{"n": 3}', headers=bearer(secret)
    )
    assert json.loads(ok.body) == 6


async def test_an_expired_key_is_refused(jp_fetch: Fetch, notebooks: Path) -> None:
    expires = (datetime.now(timezone.utc) + timedelta(seconds=2)).isoformat()
    secret = (await create_key(jp_fetch, expires=expires))["secret"]
    assert await status_of(jp_fetch, "restified", "a.ipynb", headers=bearer(secret)) == 200
    await asyncio.sleep(2.2)
    assert await status_of(jp_fetch, "restified", "a.ipynb", headers=bearer(secret)) == 403
    past = (datetime.now(timezone.utc) - timedelta(days=1)).isoformat()
    assert (
        await status_of(
            jp_fetch,
            "api",
            "restified",
            "keys",
            method="POST",
            body=json.dumps({"path": "a.ipynb", "label": "x", "expires": past}),
        )
        == 422
    )


async def test_rate_limit_answers_429(jp_fetch: Fetch, notebooks: Path) -> None:
    secret = (await create_key(jp_fetch))["secret"]
    codes = [
        await status_of(jp_fetch, "restified", "a.ipynb", headers=bearer(secret)) for _ in range(31)
    ]
    assert codes[:30] == [200] * 30
    assert codes[30] == 429
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("restified", "a.ipynb", headers=bearer(secret))
    assert err.value.response is not None
    assert int(err.value.response.headers["Retry-After"]) >= 1
    assert json.loads(err.value.response.body)["error"]["type"] == "rate_limited"
    # The server's own users are not limited by a key's rate.
    assert await status_of(jp_fetch, "restified", "a.ipynb") == 200


async def test_keyed_calls_are_logged_without_the_secret(
    jp_fetch: Fetch, notebooks: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = await create_key(jp_fetch)
    caplog.set_level(logging.DEBUG)
    await jp_fetch(
        "restified", "a.ipynb", params={"key": key["secret"]}, headers={"Authorization": ""}
    )
    await status_of(jp_fetch, "restified", "b.ipynb", headers=bearer(key["secret"]))
    text = caplog.text
    assert key["secret"] not in text
    assert key["secret"].split("_", 2)[2] not in text
    lines = [r.getMessage() for r in caplog.records if "keyed call" in r.getMessage()]
    assert any(key["id"] in m and "for Alice" in m and "a.ipynb" in m and "200" in m for m in lines)
    assert any("b.ipynb" in m and "403" in m for m in lines)


async def test_deleted_keys_file_revokes_all_and_users_still_work(
    jp_fetch: Fetch, notebooks: Path, app: RestifiedApp
) -> None:
    secret = (await create_key(jp_fetch))["secret"]
    os.unlink(app.keys_path())
    assert await status_of(jp_fetch, "restified", "a.ipynb", headers=bearer(secret)) == 403
    assert json.loads((await jp_fetch("api", "restified", "keys")).body) == {"keys": []}
    assert await status_of(jp_fetch, "restified", "a.ipynb") == 200
    fresh = (await create_key(jp_fetch))["secret"]
    assert await status_of(jp_fetch, "restified", "a.ipynb", headers=bearer(fresh)) == 200


async def test_corrupted_keys_file_refuses_keys_says_why_and_serves_users(
    jp_fetch: Fetch, notebooks: Path, app: RestifiedApp, caplog: pytest.LogCaptureFixture
) -> None:
    secret = (await create_key(jp_fetch))["secret"]
    Path(app.keys_path()).write_text('{"version": 1, "keys": [{"id": ')
    caplog.set_level(logging.INFO)
    assert await status_of(jp_fetch, "restified", "a.ipynb", headers=bearer(secret)) == 403
    assert any("keys file" in r.getMessage() and r.levelno >= logging.ERROR for r in caplog.records)
    assert await status_of(jp_fetch, "api", "restified", "keys") == 503
    assert await status_of(jp_fetch, "restified", "a.ipynb") == 200  # users are served
    assert Path(app.keys_path()).read_text() == '{"version": 1, "keys": [{"id": '  # untouched
