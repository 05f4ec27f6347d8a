"""Limits on what one request or one caller may take from the server: bodies nested too
deep, calls in flight per endpoint key, bodies refused before they are read."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPResponse

from .notebooks import write_notebook

Fetch = Callable[..., Awaitable[HTTPResponse]]

pytestmark = pytest.mark.timeout(240)

MAX_BODY = 1024 * 1024


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **jp_server_config,  # conftest's: the extension enabled
        "RestifiedApp": {"pool_size": 2, "queue_size": 4, "max_body_size": MAX_BODY},
    }


@pytest.fixture
def notebooks(jp_root_dir: Path, tmp_path: Path) -> Path:
    """``slow.ipynb`` sleeps ``seconds`` and touches ``marker`` when it runs."""
    marker = tmp_path / "ran"
    write_notebook(
        jp_root_dir / "slow.ipynb",
        "import pathlib, time",
        ("seconds = 0.0\nitems: list = []", ["parameters"]),
        (
            f"pathlib.Path({str(marker)!r}).touch()\ntime.sleep(seconds)\nlen(items)",
            ["return"],
        ),
    )
    return marker


async def error_of(jp_fetch: Fetch, *parts: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch(*parts, **kwargs)
    assert err.value.response is not None
    return err.value.code, json.loads(err.value.response.body)["error"]


@pytest.mark.parametrize("outer", ["[{}]", '{{"items": {}}}'])
async def test_a_body_nested_past_the_parser_is_400(
    jp_fetch: Fetch, notebooks: Path, outer: str
) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    code, error = await error_of(
        jp_fetch, "restified", "slow.ipynb", method="POST", body=outer.format(deep)
    )
    assert (code, error["type"]) == (400, "invalid_request")
    assert "nests too deep" in error["message"]
    assert not notebooks.exists()
    # The same body where a key is made: 400 too.
    code, error = await error_of(
        jp_fetch, "api", "restified", "keys", method="POST", body=outer.format(deep)
    )
    assert (code, error["type"]) == (400, "invalid_request")
