"""Calls made with an endpoint key: what a key holder is told of a failing cell, how many
calls one key may have in flight, and the log line every keyed call leaves."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPResponse

from .notebooks import write_notebook
from .test_keys import bearer, create_key

Fetch = Callable[..., Awaitable[HTTPResponse]]

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
