"""What one call may send back: a result past ``max_result_size`` is refused where the call
runs and where the server reads it (502 ``result_too_large``), never read whole into the
server; captured output is cut to ``max_output_size``, head and tail kept."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPResponse

from notebook_restified.engine import Engine
from notebook_restified.engine.client import FrameTooLarge, read_frame
from notebook_restified.errors import ResultTooLarge
from notebook_restified.kernelside.runner import BoundedText, cut
from notebook_restified.kernelside.wire import HEADER
from notebook_restified.spec import load_spec

from .notebooks import write_notebook

Fetch = Callable[..., Awaitable[HTTPResponse]]

pytestmark = pytest.mark.timeout(240)

EXAMPLES = Path(__file__).parent.parent / "examples"
LIMIT = 8 * 1000 * 1000
# text_repeat's text of 400 characters, 131072 times: a result of about 52 MB.
HUGE = {"text": "x" * 400, "multiplier": 131072}


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **jp_server_config,  # conftest's: the extension enabled
        "RestifiedApp": {"max_result_size": LIMIT, "time_limit": 60.0},
    }


@pytest.fixture
def notebooks(jp_root_dir: Path) -> Path:
    shutil.copy(EXAMPLES / "text_repeat.ipynb", jp_root_dir / "text_repeat.ipynb")
    write_notebook(jp_root_dir / "one.ipynb", ("n = 1", ["parameters"]), ("n + 1", ["return"]))
    write_notebook(
        jp_root_dir / "noisy.ipynb",
        "import os, sys, time",
        ("mode = 'print'\nmegabytes = 50", ["parameters"]),
        (
            "if mode == 'print':\n"
            "    for i in range(megabytes * 1000):  # lines of 1000 characters\n"
            "        print(f'{i:07d}' + 'p' * 992)\n"
            "    for i in range(megabytes):  # straight to the file descriptor, 1 MB at a time\n"
            "        os.write(2, f'{i:07d}'.encode() + b'f' * 999_993)\n"
            "    os.write(2, b'end of fd 2')\n"
            "    raise ValueError('e' * 10_000_000)\n"
            "for i in range(megabytes):\n"
            "    os.write(2, b'f' * 1_000_000)\n"
            "time.sleep(0.3)  # the watcher's turn\n"
            "os.fstat(2).st_blocks * 512  # what the file behind stderr holds in memory",
            ["return"],
        ),
    )
    return jp_root_dir


def _rss() -> int:
    """This process's resident memory now (bytes): the server runs in it."""
    return _status_kib("VmRSS") * 1024


def _peak_rss() -> int:
    """This process's highest resident memory since the last :func:`_reset_peak`."""
    return _status_kib("VmHWM") * 1024


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/self/status")


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # Linux: the peak starts again from now


async def _error(jp_fetch: Fetch, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("restified", path, **kwargs)
    response = err.value.response
    assert response is not None
    return err.value.code, json.loads(response.body)["error"]


async def _timed(call: Awaitable[HTTPResponse]) -> tuple[float, HTTPResponse]:
    started = time.perf_counter()
    response = await call
    return time.perf_counter() - started, response


async def test_a_huge_result_is_refused_without_the_server_holding_it(
    jp_fetch: Fetch, notebooks: Path
) -> None:
    small = await jp_fetch("restified", "text_repeat.ipynb", params={"multiplier": 3})
    assert json.loads(small.body) == "hellohellohello"
    assert json.loads((await jp_fetch("restified", "one.ipynb")).body) == 2  # both warm

    before = _rss()
    _reset_peak()
    huge = asyncio.ensure_future(
        _error(jp_fetch, "text_repeat.ipynb", method="POST", body=json.dumps(HUGE))
    )
    latency, trivial = await _timed(jp_fetch("restified", "one.ipynb", params={"n": 5}))
    code, error = await huge
    growth = _peak_rss() - before

    assert (code, error["type"]) == (502, "result_too_large")
    assert error["limit"] == LIMIT
    assert error["size"] > LIMIT
    assert growth < 40 * 2**20, f"the server grew by {growth / 2**20:.0f} MiB"
    assert json.loads(trivial.body) == 6
    assert latency < 2.0, latency
    again = await jp_fetch("restified", "text_repeat.ipynb", params={"text": "ab"})
    assert json.loads(again.body) == "abab"


async def test_a_result_at_the_limit_passes_and_one_past_it_does_not(
    jp_fetch: Fetch, notebooks: Path
) -> None:
    # The JSON text of a string is its characters and two quotes.
    body = {"text": "y", "multiplier": LIMIT - 2}
    response = await jp_fetch(
        "restified", "text_repeat.ipynb", method="POST", body=json.dumps(body)
    )
    assert len(response.body) == LIMIT
    body["multiplier"] += 1
    code, error = await _error(jp_fetch, "text_repeat.ipynb", method="POST", body=json.dumps(body))
    assert (code, error["type"]) == (502, "result_too_large")


async def test_the_default_limit_is_64_mib(tmp_path: Path) -> None:
    spec = load_spec(shutil.copy(EXAMPLES / "text_repeat.ipynb", tmp_path / "t.ipynb"))
    engine = Engine(spare_kernels=0)
    try:
        with pytest.raises(ResultTooLarge) as err:
            # 513 * 131072 characters: just over 64 MiB of JSON text.
            await engine.call("t", spec, {"text": "z" * 513, "multiplier": 131072})
        assert err.value.limit == 64 * 2**20
        assert (await engine.call("t", spec, {"multiplier": 2})).value == "hellohello"
    finally:
        await engine.close()


@pytest.mark.parametrize("isolation", ["fork", "kernel"])
async def test_each_kind_of_result_counts_in_both_isolations(
    tmp_path: Path, isolation: str
) -> None:
    spec = load_spec(
        write_notebook(
            tmp_path / "kinds.ipynb",
            "import pandas as pd, numpy as np",
            ("kind = 'list'\nrows = 10", ["parameters"]),
            (
                "if kind == 'list':\n"
                "    value = list(range(rows))\n"
                "elif kind == 'frame':\n"
                "    value = pd.DataFrame({'a': np.arange(rows), 'b': np.arange(rows) * 0.5})\n"
                "else:\n"
                "    value = {str(i): 'v' * 100 for i in range(rows)}\n"
                "value",
                ["return"],
            ),
        )
    )
    engine = Engine(isolation=isolation, max_result_size=1_000_000, spare_kernels=0)
    try:
        for kind in ("list", "frame", "dict"):
            small = await engine.call("k", spec, {"kind": kind, "rows": 100})
            assert small.value
            with pytest.raises(ResultTooLarge):
                await engine.call("k", spec, {"kind": kind, "rows": 200_000})
        assert (await engine.call("k", spec, {"rows": 3})).value == [0, 1, 2]
    finally:
        await engine.close()


async def test_the_server_reads_no_frame_past_its_limit() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(HEADER.pack(10 * 2**30))  # a header that announces 10 GiB, no body
    with pytest.raises(FrameTooLarge) as err:
        await asyncio.wait_for(read_frame(reader, 2**20), 5)
    assert err.value.size == 10 * 2**30

    body = json.dumps({"value": "v" * (3 * 2**20)}).encode()  # decoded off the event loop
    reader = asyncio.StreamReader()
    reader.feed_data(HEADER.pack(len(body)) + body)
    assert await read_frame(reader, len(body)) == {"value": "v" * (3 * 2**20)}


MIB = 2**20
MARKER = re.compile(r"\n\[\.\.\. (\d+) characters cut \.\.\.\]\n")


def _head_and_tail(text: str, limit: int) -> tuple[str, int, str]:
    """A cut text's head, the count its marker gives, and its tail."""
    match = MARKER.search(text)
    assert match is not None, text[:200]
    head, tail = text[: match.start()], text[match.end() :]
    assert len(head) + len(tail) <= limit
    return head, int(match.group(1)), tail


async def test_unbounded_output_is_cut_to_its_head_and_tail(
    jp_fetch: Fetch, notebooks: Path, app: Any
) -> None:
    code, error = await _error(jp_fetch, "noisy.ipynb")
    assert (code, error["type"]) == (500, "execution_error")
    assert error["ename"] == "ValueError"
    assert len(error["evalue"]) <= MIB + 100

    head, count, tail = _head_and_tail(error["stdout"], MIB)
    assert head.startswith("0000000pppp")
    assert tail.endswith("0049999" + "p" * 992 + "\n")
    assert count == 50_000 * 1000 - len(head) - len(tail)
    head, count, tail = _head_and_tail(error["stderr"], MIB)
    assert head.startswith("0000000ffff")  # what the fd got, head and tail
    assert tail.endswith("f" * 1000 + "end of fd 2")
    assert count > 40 * 1000 * 1000

    # Nothing the call writes to its file descriptors piles up in memory meanwhile.
    held = json.loads(
        (await jp_fetch("restified", "noisy.ipynb", params={"mode": "fd", "megabytes": 60})).body
    )
    assert held < 16 * MIB, f"stderr's file held {held / MIB:.0f} MiB"
    assert json.loads((await jp_fetch("restified", "one.ipynb")).body) == 2
    assert app.engine.stats()["running"] == 0


def test_a_bounded_stream_keeps_what_cut_keeps() -> None:
    text = "".join(f"{i:05d}," for i in range(20_000))
    for limit in (0, 1, 7, 100, 4096):
        stream = BoundedText(limit)
        for start in range(0, len(text), 37):
            stream.write(text[start : start + 37])
        assert stream.getvalue() == cut(text, limit)
        assert len(stream.getvalue()) <= limit + 40
    assert cut("short", 10) == "short"
    assert cut("0123456789", 4) == "01\n[... 6 characters cut ...]\n89"
