"""The fork server's children never outlive the kernel that forked them, and a warm kernel
that stops handing calls over is replaced."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import tempfile
import time
from pathlib import Path

import pytest

from notebook_restified import KernelModel
from notebook_restified.engine.client import Limits, UntakenCallTimeout, call_forked
from notebook_restified.errors import CallTimeout
from notebook_restified.kernelside.forkserver import ForkServer

from .notebooks import alive, write_notebook

pytestmark = pytest.mark.timeout(60)


def test_waiting_children_exit_when_their_kernel_is_gone_even_before_they_wait() -> None:
    # A process stands in for the kernel: it forks two children through a fork server and
    # dies at once, while they are still preparing (before they wait for a call).
    read_fd, write_fd = os.pipe()
    kernel = os.fork()
    if kernel == 0:  # pragma: no cover - the stand-in kernel
        code = 1
        try:
            os.close(read_fd)
            server = ForkServer(None, prefork=2, copy_limit=0)
            server._spawn()
            server._spawn()
            os.write(write_fd, " ".join([server.directory, *map(str, server.waiting)]).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        directory, *pids = pipe.read().decode().split()
    children = [int(pid) for pid in pids]
    os.waitpid(kernel, 0)
    assert len(children) == 2

    try:
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(pid) for pid in children), "orphaned children are left waiting"
    finally:
        for pid in children:  # whatever happened, none outlives the test
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(directory, ignore_errors=True)  # the stand-in's socket


def test_a_call_that_stops_its_kernel_leaves_the_notebook_serving(tmp_path: Path) -> None:
    # The call's code stops the warm kernel that forked it: no child would be forked for
    # the next calls. A child it forked before may still take one (the stop lands on all of
    # the kernel's threads a moment later); then a call finds it stopped and a new warm
    # kernel serves. Without that, the calls past its waiting children time out.
    path = write_notebook(
        tmp_path / "stops.ipynb",
        "import os, signal",
        ("stop = False", ["parameters"]),
        ("if stop:\n    os.kill(os.getppid(), signal.SIGSTOP)\nos.getppid()", ["return"]),
    )
    with KernelModel(path, isolation="fork", time_limit=20) as model:
        stopped = model.execute(stop=True)
        try:
            answers = [model.execute() for _ in range(4)]
            assert answers[-1] != stopped
            assert len(set(answers) - {stopped}) == 1  # one new kernel, serving since
        finally:
            with contextlib.suppress(OSError):
                os.kill(stopped, signal.SIGCONT)


def test_a_forked_call_no_child_takes_is_an_untaken_timeout() -> None:
    # A fork server that accepts the call but hands it to no child (its kernel stuck).
    async def untaken() -> None:
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "stuck.sock")
            with socket.socket(socket.AF_UNIX) as listener:
                listener.bind(path)
                listener.listen(1)
                with pytest.raises(UntakenCallTimeout) as info:
                    await call_forked(path, [], 0.3, Limits(1 << 20, 1 << 20))
        assert isinstance(info.value, CallTimeout)  # a 504 `timeout` to the caller
        assert info.value.time_limit == 0.3

    asyncio.run(untaken())
