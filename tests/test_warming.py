"""Warming a notebook: it holds no call slot, it has one deadline from kernel start to
ready (``startup_time_limit``), a failed setup is answered at once until the notebook
changes, and while a changed version warms, the one before serves the calls made of it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPResponse

from notebook_restified.engine import Engine
from notebook_restified.errors import CallTimeout
from notebook_restified.spec import NotebookSpec, load_spec

from .notebooks import alive, write_notebook

Fetch = Callable[..., Awaitable[HTTPResponse]]

pytestmark = pytest.mark.timeout(240)

SETUP_SECONDS = 4.0


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **jp_server_config,  # conftest's: the extension enabled
        "RestifiedApp": {"pool_size": 1, "time_limit": 60.0},
    }


async def _timed(call: Awaitable[HTTPResponse]) -> tuple[float, Any]:
    started = time.perf_counter()
    response = await call
    return time.perf_counter() - started, json.loads(response.body)


async def test_warming_holds_no_call_slot(jp_fetch: Fetch, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir / "quick.ipynb", ("n = 1", ["parameters"]), ("n + 1", ["return"]))
    write_notebook(
        jp_root_dir / "slow.ipynb",
        f"import time\ntime.sleep({SETUP_SECONDS})",
        ("n = 1", ["parameters"]),
        ("n * 10", ["return"]),
    )
    assert json.loads((await jp_fetch("restified", "quick.ipynb")).body) == 2  # warm

    # The only call slot is free while slow.ipynb warms: quick.ipynb's call takes it.
    slow = asyncio.ensure_future(_timed(jp_fetch("restified", "slow.ipynb")))
    await asyncio.sleep(0.5)
    latency, value = await _timed(jp_fetch("restified", "quick.ipynb", params={"n": 5}))
    assert value == 6
    assert latency < 2.0, f"a warm call waited {latency:.1f} s for another notebook's warm-up"
    slow_latency, slow_value = await slow
    assert slow_value == 10
    assert slow_latency >= SETUP_SECONDS


async def test_a_failed_setup_is_answered_at_once_until_the_notebook_changes(
    jp_fetch: Fetch, jp_root_dir: Path
) -> None:
    runs = jp_root_dir / "runs.txt"
    setup = f"with open({str(runs)!r}, 'a') as f:\n    f.write('ran\\n')\n"
    path = jp_root_dir / "broken.ipynb"
    write_notebook(
        path,
        "import os",
        setup + "raise ValueError('no model file')",
        ("n = 1", ["parameters"]),
        ("n", ["return"]),
    )
    errors = []
    for wait in (0.0, 6.0, 0.0):  # past any delay after which the setup was tried again
        await asyncio.sleep(wait)
        started = time.perf_counter()
        with pytest.raises(HTTPClientError) as err:
            await jp_fetch("restified", "broken.ipynb")
        assert err.value.response is not None
        errors.append((err.value.code, json.loads(err.value.response.body)["error"]))
        if len(errors) > 1:
            assert time.perf_counter() - started < 1.0
    for code, error in errors:
        assert (code, error["type"]) == (500, "execution_error")
        assert (error["cell_index"], error["ename"]) == (1, "ValueError")
        assert "no model file" in error["message"]
    assert runs.read_text() == "ran\n", "the failed setup ran again"

    write_notebook(path, "import os", setup, ("n = 1", ["parameters"]), ("n", ["return"]))
    assert json.loads((await jp_fetch("restified", "broken.ipynb", params={"n": 3})).body) == 3
    assert runs.read_text() == "ran\nran\n"


def _version(tmp_path: Path, name: str, setup: str) -> NotebookSpec:
    return load_spec(
        write_notebook(
            tmp_path / name,
            setup,
            ("n = 1", ["parameters"]),
            ("(x, n, __import__('os').getppid())", ["return"]),
        )
    )


async def test_the_old_version_serves_its_calls_while_the_new_one_warms(
    tmp_path: Path,
) -> None:
    old = _version(tmp_path, "v1.ipynb", "x = 'old'")
    new = _version(tmp_path, "v2.ipynb", f"import time\ntime.sleep({SETUP_SECONDS})\nx = 'new'")
    engine = Engine(pool_size=1)
    try:
        value, n, old_kernel = (await engine.call("nb", old, {"n": 1})).value
        assert (value, n) == ("old", 1)

        # Saved: the new setup warms (as the server does right after a save).
        rewarm = asyncio.ensure_future(engine.prepare("nb", new))
        await asyncio.sleep(0.5)
        # A call made of the notebook as it was (loaded before the save) runs at once on
        # the old kernel; a call of the notebook as saved waits for the new one.
        started = time.perf_counter()
        as_saved = asyncio.ensure_future(engine.call("nb", new, {"n": 3}))
        value, n, kernel = (await engine.call("nb", old, {"n": 2})).value
        assert time.perf_counter() - started < 2.0
        assert (value, n, kernel) == ("old", 2, old_kernel)
        value, n, new_kernel = (await as_saved).value
        assert (value, n) == ("new", 3)
        assert new_kernel != old_kernel
        await rewarm

        # The old kernel goes once the new one serves.
        deadline = time.monotonic() + 10
        while alive(old_kernel) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert not alive(old_kernel)
        assert (await engine.call("nb", new, {"n": 4})).value[:2] == ["new", 4]
    finally:
        await engine.close()


async def test_one_deadline_from_kernel_start_to_ready(tmp_path: Path) -> None:
    # Each step alone (a kernel start, setup of 2 s) is within 2.5 s; together they are not.
    spec = load_spec(
        write_notebook(
            tmp_path / "late.ipynb",
            "import time\ntime.sleep(2.0)",
            ("n = 1", ["parameters"]),
            ("n", ["return"]),
        )
    )
    engine = Engine(startup_limit=2.5, spare_kernels=0)
    try:
        started = time.perf_counter()
        with pytest.raises(CallTimeout) as err:
            await engine.call("late", spec, {})
        assert time.perf_counter() - started < 2.5 + 2.0  # the deadline, and the stop
        assert "startup_time_limit" in err.value.message
        started = time.perf_counter()
        with pytest.raises(CallTimeout):  # remembered until the notebook changes
            await engine.call("late", spec, {})
        assert time.perf_counter() - started < 0.5
        assert engine.kernel_pids() == []
    finally:
        await engine.close()
