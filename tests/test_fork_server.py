"""The fork server's children never outlive the kernel that forked them."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time

import pytest

from notebook_restified.kernelside.forkserver import ForkServer

from .notebooks import alive

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
