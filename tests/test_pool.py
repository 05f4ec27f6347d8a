"""The warm pool through a real server: memory reported, bounded by configuration."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPResponse

from notebook_restified.server.app import RestifiedApp

from .notebooks import alive, write_notebook

Fetch = Callable[..., Awaitable[HTTPResponse]]

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **jp_server_config,  # conftest's: the extension enabled
        "RestifiedApp": {"max_warm_notebooks": 1},
    }


async def test_warm_pool_is_reported_and_bounded(
    jp_fetch: Fetch, jp_root_dir: Path, app: RestifiedApp
) -> None:
    for name in ("one.ipynb", "two.ipynb"):
        write_notebook(jp_root_dir / name, ("n = 1", ["parameters"]), ("n + 1", ["return"]))

    assert json.loads((await jp_fetch("restified", "one.ipynb")).body) == 2
    pool = json.loads((await jp_fetch("api", "restified", "status")).body)["pool"]
    assert [w["path"] for w in pool["warm_notebooks"]] == ["one.ipynb"]
    assert pool["warm_notebooks"][0]["isolation"] == "fork"
    assert pool["memory_bytes"] > 10 * 1024 * 1024  # a kernel's worth
    assert pool["max_warm_notebooks"] == 1
    first = pool["warm_notebooks"][0]["kernel_pids"]
    assert first

    assert json.loads((await jp_fetch("restified", "two.ipynb")).body) == 2
    pool = json.loads((await jp_fetch("api", "restified", "status")).body)["pool"]
    assert [w["path"] for w in pool["warm_notebooks"]] == ["two.ipynb"]
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in first) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert not any(alive(pid) for pid in first), "the least recently used kernel is stopped"
    # Held: two.ipynb's kernel and at most one spare kernel, started ahead.
    assert len(pool["spare_kernels"]["pids"]) <= 1
    assert set(app.engine.kernel_pids()) <= set(
        pool["warm_notebooks"][0]["kernel_pids"] + pool["spare_kernels"]["pids"]
    ) | set(app.engine.kernels.pids())
