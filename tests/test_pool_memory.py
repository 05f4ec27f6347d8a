"""The warm pool bounded by memory (``max_pool_memory``), through a real server."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPResponse

from notebook_restified.engine import Engine
from notebook_restified.spec import load_spec

from .notebooks import alive, write_notebook

Fetch = Callable[..., Awaitable[HTTPResponse]]

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    # Less than one kernel: only the notebook serving the latest call stays warm.
    return {
        **jp_server_config,  # conftest's: the extension enabled
        "RestifiedApp": {"max_pool_memory": 1024 * 1024},
    }


async def _pool(jp_fetch: Fetch) -> dict[str, Any]:
    pool: dict[str, Any] = json.loads((await jp_fetch("api", "restified", "status")).body)["pool"]
    return pool


async def test_pool_over_its_memory_keeps_only_the_latest_notebook(
    jp_fetch: Fetch, jp_root_dir: Path
) -> None:
    for name, add in (("one.ipynb", 1), ("two.ipynb", 2)):
        write_notebook(jp_root_dir / name, ("n = 1", ["parameters"]), (f"n + {add}", ["return"]))

    assert json.loads((await jp_fetch("restified", "one.ipynb")).body) == 2
    pool = await _pool(jp_fetch)
    assert pool["max_memory_bytes"] == 1024 * 1024
    assert [w["path"] for w in pool["warm_notebooks"]] == ["one.ipynb"]
    first = pool["warm_notebooks"][0]["kernel_pids"]

    assert json.loads((await jp_fetch("restified", "two.ipynb")).body) == 3
    pool = await _pool(jp_fetch)
    assert [w["path"] for w in pool["warm_notebooks"]] == ["two.ipynb"]
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in first) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert not any(alive(pid) for pid in first), "the evicted notebook's kernel is stopped"

    # Evicted is not broken: the next call warms it again (and evicts the other).
    assert json.loads((await jp_fetch("restified", "one.ipynb", params={"n": 5})).body) == 6
    pool = await _pool(jp_fetch)
    assert [w["path"] for w in pool["warm_notebooks"]] == ["one.ipynb"]


async def test_pool_within_its_memory_keeps_every_notebook(tmp_path: Path) -> None:
    specs = [
        load_spec(
            write_notebook(
                tmp_path / f"nb{i}.ipynb", ("n = 1", ["parameters"]), (f"n * {i}", ["return"])
            )
        )
        for i in (2, 3)
    ]
    engine = Engine(max_memory=64 * 2**30, spare_kernels=0)
    try:
        for i, spec in zip((2, 3), specs, strict=True):
            assert (await engine.call(f"nb{i}.ipynb", spec, {"n": 2})).value == 2 * i
        assert engine.is_warm("nb2.ipynb")
        assert engine.is_warm("nb3.ipynb")
        assert engine.stats()["max_memory_bytes"] == 64 * 2**30
    finally:
        await engine.close()
