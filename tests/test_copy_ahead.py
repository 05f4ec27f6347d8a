"""Copy-ahead: a waiting child copies the kernel's pages that calls write before its call.

The page bookkeeping is checked on this very process (pagemap, a real fork); the learning
through a real server, kernel and fork server.
"""

from __future__ import annotations

import asyncio
import json
import mmap
import os
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPResponse

from notebook_restified.kernelside.copyahead import (
    COPY_AHEAD_MIN_FAULTS,
    PageScanner,
    copy_pages,
    learned_ranges,
    pack_report,
    ranges_size,
    subtract_ranges,
    unpack_report,
)
from notebook_restified.server.app import RestifiedApp

from .notebooks import write_notebook

Fetch = Callable[..., Awaitable[HTTPResponse]]
PAGE = mmap.PAGESIZE

pytestmark = pytest.mark.timeout(120)


def test_learned_pages_are_the_union_of_reports_within_the_limit() -> None:
    a = [(0, 2 * PAGE), (10 * PAGE, 12 * PAGE)]
    b = [(PAGE, 4 * PAGE), (20 * PAGE, 21 * PAGE)]
    assert learned_ranges([a, b], 1 << 30) == [
        (0, 4 * PAGE),
        (10 * PAGE, 12 * PAGE),
        (20 * PAGE, 21 * PAGE),
    ]
    assert learned_ranges([], 1 << 30) == []
    # Past the limit: cut to it, in address order, whole pages only.
    assert learned_ranges([a, b], 5 * PAGE) == [(0, 4 * PAGE), (10 * PAGE, 11 * PAGE)]
    assert learned_ranges([b], 0) == []
    assert ranges_size(learned_ranges([b], 3 * PAGE + 5)) == 3 * PAGE


def test_subtract_leaves_what_the_other_does_not_cover() -> None:
    ranges = [(0, 10), (20, 30), (40, 50)]
    assert subtract_ranges(ranges, [(5, 25), (45, 60)]) == [(0, 5), (25, 30), (40, 45)]
    assert subtract_ranges(ranges, []) == ranges
    assert subtract_ranges(ranges, [(0, 100)]) == []
    assert subtract_ranges(ranges, [(12, 18)]) == ranges


def test_a_report_round_trips_and_a_cut_one_is_refused() -> None:
    report = pack_report(4242, 7 * PAGE, [(PAGE, 3 * PAGE), (8 * PAGE, 9 * PAGE)])
    assert unpack_report(report) == (4242, 7 * PAGE, [(PAGE, 3 * PAGE), (8 * PAGE, 9 * PAGE)])
    assert unpack_report(pack_report(0, 0, [])) == (0, 0, [])
    for cut in (report[:-1], report[:10], b"", b"t", b"X" + report[1:]):
        assert unpack_report(cut) is None


def _in_child(work: Callable[[], Any]) -> Any:
    """Run ``work`` in a forked child of this process; its JSON-able answer."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            os.close(read_fd)
            os.write(write_fd, json.dumps(work()).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status)
    assert os.WEXITSTATUS(status) == 0
    return json.loads(data)


def test_the_scanner_finds_the_pages_a_child_wrote() -> None:
    # Anonymous memory of this process: the first 12 pages written (its own), 4 never touched.
    area = _private(16)
    area.write(b"x" * 12 * PAGE)
    start = _address(area)
    whole = [(start, start + len(area))]
    assert PageScanner().pages(whole) == [(start, start + 12 * PAGE)]

    def child() -> Any:
        scanner = PageScanner()
        own_before = scanner.pages(whole)  # all shared with the parent, or absent
        area[3 * PAGE] = ord("y")  # copied from the parent's page
        area[9 * PAGE + 100] = ord("y")
        area[14 * PAGE] = ord("y")  # a new page
        return [own_before, scanner.pages(whole)]

    own_before, own_after = _in_child(child)
    assert own_before == []
    written = [
        (start + 3 * PAGE, start + 4 * PAGE),
        (start + 9 * PAGE, start + 10 * PAGE),
        (start + 14 * PAGE, start + 15 * PAGE),
    ]
    assert [tuple(r) for r in own_after] == written
    assert area[3 * PAGE] == ord("x")  # the parent's page is untouched


def test_copy_pages_makes_them_private_without_changing_them() -> None:
    area = _private(8)
    area.write(bytes(range(256)) * (len(area) // 256))
    start = _address(area)
    wanted = [(start + 2 * PAGE, start + 5 * PAGE)]

    def child() -> Any:
        copied = copy_pages([*wanted, (1 << 46, (1 << 46) + PAGE)])  # unmapped: skipped
        own = PageScanner().pages([(start, start + len(area))])
        return [copied, own, area[:] == bytes(range(256)) * (len(area) // 256)]

    copied, own, unchanged = _in_child(child)
    if copied == 0:
        pytest.skip("this kernel has no MADV_POPULATE_WRITE (Linux < 5.14)")
    assert copied == 3 * PAGE
    assert [tuple(r) for r in own] == wanted
    assert unchanged


def test_copy_pages_stops_when_told() -> None:
    area = _private(8)
    area.write(b"z" * len(area))
    start = _address(area)
    stop = threading.Event()
    stop.set()  # as when the call comes before the copy begins

    def child() -> Any:
        copied = copy_pages([(start, start + len(area))], stop)
        return [copied, PageScanner().pages([(start, start + len(area))])]

    assert _in_child(child) == [0, []]


def _private(pages: int) -> mmap.mmap:
    """Private anonymous memory, as a process's heap is (copied on write after a fork)."""
    return mmap.mmap(-1, pages * PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)


def _address(area: mmap.mmap) -> int:
    import ctypes

    return ctypes.addressof(ctypes.c_char.from_buffer(area))


# --- through the server ------------------------------------------------------------------

# Setup makes 200,000 float objects; each call reads them all, and so writes the reference
# count of each: thousands of the kernel's pages, copied on write.
HEAVY = (
    "data = [float(i) for i in range(200_000)]",
    ("scale = 1.0", ["parameters"]),
    ("total = sum(x * scale for x in data)\ndata[0] = -1.0\ndata.append(1.0)", []),
    ("[total, len(data)]", ["return"]),
)


async def _fork_stats(jp_fetch: Fetch, name: str, until: Callable[[dict[str, Any]], bool]) -> Any:
    """The fork server's counts for ``name`` once ``until`` holds (reports come after calls)."""
    deadline = time.monotonic() + 15
    while True:
        pool = json.loads((await jp_fetch("api", "restified", "status")).body)["pool"]
        stats = next(w["fork"] for w in pool["warm_notebooks"] if w["path"] == name)
        if until(stats) or time.monotonic() > deadline:
            return stats
        await asyncio.sleep(0.2)


async def test_calls_that_write_many_pages_get_them_copied_ahead(
    jp_fetch: Fetch, jp_root_dir: Path
) -> None:
    write_notebook(jp_root_dir / "heavy.ipynb", *HEAVY)
    expected = [sum(float(i) for i in range(200_000)), 200_001]
    for scale in (1.0, 2.0, 1.0, 3.0, 1.0, 2.0, 1.0, 1.0, 2.0, 1.0):
        # A pause between calls, as a client leaves: waiting children finish their copy.
        await asyncio.sleep(0.3)
        body = json.loads(
            (await jp_fetch("restified", "heavy.ipynb", params={"scale": scale})).body
        )
        assert body == [expected[0] * scale, 200_001]  # as isolated as ever
    stats = await _fork_stats(jp_fetch, "heavy.ipynb", lambda s: s["copied_calls"] >= 2)
    assert stats["call_faults"] >= COPY_AHEAD_MIN_FAULTS
    # At least the float objects' pages (200,000 x 24 bytes), within the limit.
    assert 4 * 1024 * 1024 < stats["copy_ahead_bytes"] <= 64 * 1024 * 1024
    # A call in a child that copied ahead takes a fraction of the faults of one that did not.
    assert stats["copied_calls"] >= 2
    assert stats["copied_call_faults"] < stats["call_faults"] / 2


async def test_cheap_calls_copy_nothing_ahead(jp_fetch: Fetch, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir / "cheap.ipynb", ("n = 1", ["parameters"]), ("n + 1", ["return"]))
    for n in range(4):
        assert (
            json.loads((await jp_fetch("restified", "cheap.ipynb", params={"n": n})).body) == n + 1
        )
    stats = await _fork_stats(jp_fetch, "cheap.ipynb", lambda s: s["call_faults"] > 0)
    assert 0 < stats["call_faults"] < COPY_AHEAD_MIN_FAULTS
    assert stats["copy_ahead_bytes"] == 0


async def test_copy_ahead_can_be_turned_off(
    jp_fetch: Fetch, jp_root_dir: Path, app: RestifiedApp
) -> None:
    app.engine.copy_ahead_limit = 0
    write_notebook(jp_root_dir / "heavy.ipynb", *HEAVY)
    for _ in range(4):
        assert json.loads((await jp_fetch("restified", "heavy.ipynb")).body)[1] == 200_001
    await asyncio.sleep(1)  # a report, if any were sent, has come in by now
    stats = await _fork_stats(jp_fetch, "heavy.ipynb", lambda s: True)
    assert stats["forked"] >= 4
    assert stats["call_faults"] >= COPY_AHEAD_MIN_FAULTS
    assert stats["copy_ahead_bytes"] == 0
    assert stats["copied_calls"] == 0
