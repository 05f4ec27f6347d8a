"""A kernel started ahead of time is never dropped: a caller cancelled while it waits for
one (a client that left, an engine closing) stops it, whether it is still starting or has
just started (real ipykernel processes)."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from notebook_restified.engine.kernels import KernelSource
from notebook_restified.engine.session import KernelSession, claim, stop_started

from .notebooks import alive

pytestmark = pytest.mark.timeout(120)


async def _gone(pid: int) -> bool:
    deadline = time.monotonic() + 15
    while alive(pid) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return not alive(pid)


async def test_a_kernel_that_started_as_its_caller_was_cancelled_is_stopped() -> None:
    session = KernelSession("python3")
    await session.start()
    pid = session.pid
    assert pid is not None
    assert alive(pid)
    ready: asyncio.Future[KernelSession] = asyncio.get_running_loop().create_future()
    waiting = asyncio.ensure_future(claim(ready))
    await asyncio.sleep(0)  # the caller now waits for the kernel
    # The kernel is ready and the caller is cancelled in the same turn of the loop: the
    # caller never sees the session, so claim() must stop it.
    ready.set_result(session)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert await _gone(pid), "the started kernel was dropped, still running"


async def test_a_kernel_still_starting_when_its_caller_is_cancelled_is_stopped() -> None:
    session = KernelSession("python3")

    async def start() -> KernelSession:
        try:
            await session.start()
        except BaseException:
            await session.shutdown()
            raise
        return session

    starting = asyncio.ensure_future(start())
    waiting = asyncio.ensure_future(claim(starting))
    await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert starting.done()
    pid = session.pid
    assert pid is None or await _gone(pid)


async def test_claim_gives_the_started_session() -> None:
    session = KernelSession("python3")
    task = asyncio.ensure_future(session.start())
    started: asyncio.Future[KernelSession] = asyncio.get_running_loop().create_future()
    task.add_done_callback(lambda _: started.set_result(session))
    got = await claim(started)
    try:
        assert got is session
        assert session.pid is not None
        assert alive(session.pid)
    finally:
        await session.shutdown()


async def test_a_kernel_made_by_a_task_that_swallowed_its_cancellation_is_stopped() -> None:
    # Python 3.11's asyncio.wait_for, cancelled in the turn its work finishes, returns the
    # work's result instead of raising: the task told to cancel ends with a session.
    session = KernelSession("python3")
    await session.start()
    pid = session.pid
    assert pid is not None

    async def ready_anyway() -> KernelSession:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(30)
        return session

    task = asyncio.ensure_future(ready_anyway())
    await asyncio.sleep(0)
    await stop_started(task)
    assert not task.cancelled()
    assert await _gone(pid), "the session the task ended with was dropped, still running"


async def test_closing_the_kernel_source_stops_every_kernel_it_made() -> None:
    source = KernelSource(None, startup_limit=60, spares=0)
    held = await source.kernel("python3", None, python=False)
    stopped = await source.kernel("python3", None, python=False)
    pid = held.pid
    assert pid is not None
    assert stopped.pid is not None
    await stopped.shutdown()
    # Nobody shuts ``held`` down (its holder was cancelled before it could, say): closing the
    # source does, and a session already shut down is not stopped twice.
    await source.close()
    assert await _gone(pid), "a kernel the source made outlived it"
