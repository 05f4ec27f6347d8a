"""Calls made with an endpoint key: what a key holder is told of a failing cell, how many
calls one key may have in flight, and the log line every keyed call leaves."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from notebook_restified.server.app import RestifiedApp

from .notebooks import Fetch, bearer, create_key, status_of, write_notebook

pytestmark = pytest.mark.timeout(240)

BASE_CONFIG = {"ServerApp": {"jpserver_extensions": {"notebook_restified": True}}}


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {**BASE_CONFIG, "RestifiedApp": {"pool_size": 2, "queue_size": 4}}


@pytest.fixture
def notebooks(jp_root_dir: Path) -> Path:
    """``a.ipynb``: prints, then raises when asked, or sleeps ``seconds``."""
    write_notebook(
        jp_root_dir / "a.ipynb",
        "import time",
        ("fail = False\nseconds = 0.0", ["parameters"]),
        (
            "print('the author printed this')\n"
            "if fail:\n"
            "    raise ValueError('asked to fail')\n"
            "time.sleep(seconds)\n"
            "'ok'",
            ["return"],
        ),
    )
    return jp_root_dir


async def error_of(jp_fetch: Fetch, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("restified", "a.ipynb", **kwargs)
    assert err.value.response is not None
    return err.value.code, json.loads(err.value.response.body)["error"]


# --- what a key holder is told of a failing cell --------------------------------------


async def test_a_key_holder_gets_no_traceback_nor_output(jp_fetch: Fetch, notebooks: Path) -> None:
    secret = (await create_key(jp_fetch))["secret"]
    code, error = await error_of(jp_fetch, params={"fail": "true"}, headers=bearer(secret))
    assert code == 500
    assert error == {
        "type": "execution_error",
        "message": "ValueError in cell 2: asked to fail",
        "cell_index": 2,
        "ename": "ValueError",
        "evalue": "asked to fail",
    }
    # The server's users see everything, as before.
    code, error = await error_of(jp_fetch, params={"fail": "true"})
    assert code == 500
    assert any("raise ValueError('asked to fail')" in line for line in error["traceback"])
    assert "the author printed this" in error["stdout"]
    assert error["cell_id"]


@pytest.mark.parametrize(
    "jp_server_config", [{**BASE_CONFIG, "RestifiedApp": {"key_tracebacks": True}}]
)
async def test_key_tracebacks_gives_key_holders_everything(
    jp_fetch: Fetch, notebooks: Path
) -> None:
    secret = (await create_key(jp_fetch))["secret"]
    code, error = await error_of(jp_fetch, params={"fail": "true"}, headers=bearer(secret))
    assert (code, error["ename"]) == (500, "ValueError")
    assert any("raise ValueError('asked to fail')" in line for line in error["traceback"])
    assert "the author printed this" in error["stdout"]


# --- calls in flight per key ----------------------------------------------------------


async def test_one_key_cannot_take_every_slot(
    jp_fetch: Fetch, notebooks: Path, app: RestifiedApp
) -> None:
    assert app.key_concurrency() == 1  # pool_size 2: half the pool
    secret = (await create_key(jp_fetch))["secret"]
    slow = asyncio.ensure_future(
        jp_fetch("restified", "a.ipynb", params={"seconds": 4}, headers=bearer(secret))
    )
    deadline = asyncio.get_running_loop().time() + 60
    while app.engine.stats()["running"] == 0:  # the first call holds its key's place
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("restified", "a.ipynb", headers=bearer(secret))
    assert err.value.code == 429
    assert err.value.response is not None
    assert int(err.value.response.headers["Retry-After"]) >= 1
    error = json.loads(err.value.response.body)["error"]
    assert error["type"] == "rate_limited"
    assert "in flight" in error["message"]
    # The server's users are not limited by it: the pool's other slot is theirs.
    assert json.loads((await jp_fetch("restified", "a.ipynb")).body) == "ok"
    assert json.loads((await slow).body) == "ok"
    # The place is given back when the call ends.
    response = await jp_fetch("restified", "a.ipynb", headers=bearer(secret))
    assert json.loads(response.body) == "ok"


@pytest.mark.parametrize(
    "jp_server_config",
    [{**BASE_CONFIG, "RestifiedApp": {"pool_size": 2, "key_max_concurrent": 2}}],
)
async def test_key_max_concurrent_sets_the_limit(
    jp_fetch: Fetch, notebooks: Path, app: RestifiedApp
) -> None:
    secret = (await create_key(jp_fetch))["secret"]
    calls = [
        asyncio.ensure_future(
            jp_fetch("restified", "a.ipynb", params={"seconds": 4}, headers=bearer(secret))
        )
        for _ in range(2)
    ]
    deadline = asyncio.get_running_loop().time() + 60
    while app.engine.stats()["running"] < 2:  # both run: the limit is 2, not 1
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    assert await status_of(jp_fetch, "restified", "a.ipynb", headers=bearer(secret)) == 429
    assert [json.loads(r.body) for r in await asyncio.gather(*calls)] == ["ok", "ok"]


async def test_429_is_in_the_openapi_document(jp_fetch: Fetch, notebooks: Path) -> None:
    document = json.loads((await jp_fetch("api", "restified", "openapi", "a.ipynb")).body)
    for operation in document["paths"]["/restified/a.ipynb"].values():
        response = operation["responses"]["429"]
        assert response["description"].startswith("rate_limited:")
        assert "Retry-After" in response["headers"]
