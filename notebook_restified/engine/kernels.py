"""Where kernels come from: local kernels of the server's kernel specs, or a gateway's
(``--gateway-url``), both behind one factory of kernel managers; Python kernels arrive with
the kernel-side runtime loaded, and a spare is kept started per kernel name in use."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager

from .client import install_runtime
from .session import KernelSession, claim, stop_started

log = logging.getLogger(__name__)

KernelManagerFactory = Callable[[str], AsyncKernelManager]
"""Makes the kernel manager of a kernel of the given kernel name."""


def gateway_kernel_manager(log: logging.Logger | Any, kernel_name: str) -> Any:
    """A kernel manager for a kernel of the configured gateway (``--gateway-url``)."""
    from jupyter_server.gateway.managers import GatewayKernelManager

    return GatewayKernelManager(kernel_name=kernel_name, log=log)  # type: ignore[no-untyped-call]


class KernelSource:
    """Where warm notebooks get their kernels.

    Python kernels come with the runtime loaded. ``spares`` blank ones per kernel name in
    use are kept started, so a new or changed notebook pays for its setup cells, not for a
    kernel start; a spare moves to the notebook's directory when taken.
    """

    def __init__(
        self,
        factory: KernelManagerFactory | None,
        startup_limit: float,
        spares: int = 1,
        kernel_spec_manager: KernelSpecManager | None = None,
        remote: bool = False,
    ) -> None:
        self.factory = factory
        self.kernel_spec_manager = kernel_spec_manager
        self.remote = remote
        self.startup_limit = startup_limit
        self.spares = max(0, spares)
        self._spares: dict[str, asyncio.Task[KernelSession]] = {}
        self._live: set[KernelSession] = set()
        """Every session made here and not yet shut down, whoever holds it now."""

    def _new(self, kernel_name: str, cwd: str | None) -> KernelSession:
        manager = self.factory(kernel_name) if self.factory is not None else None
        return KernelSession(
            kernel_name,
            cwd=cwd,
            kernel_manager=manager,
            kernel_spec_manager=self.kernel_spec_manager,
            remote=self.remote,
            startup_limit=self.startup_limit,
            owner=self._live,
        )

    async def _started(self, kernel_name: str, cwd: str | None, python: bool) -> KernelSession:
        session = self._new(kernel_name, cwd)
        try:
            await session.start()
            if python:
                await install_runtime(session, self.startup_limit)
        except BaseException:
            await session.shutdown()
            raise
        return session

    async def kernel(self, kernel_name: str, cwd: str | None, python: bool) -> KernelSession:
        """A started kernel for a notebook in ``cwd`` (a remote one starts where its gateway
        puts it: this machine's directories mean nothing there)."""
        if self.remote:
            cwd = None
        if not python or not self.spares:
            return await self._started(kernel_name, cwd, python)
        spare = self._spares.pop(kernel_name, None)
        self._spares[kernel_name] = asyncio.ensure_future(self._started(kernel_name, None, True))
        session = None
        if spare is not None:
            with contextlib.suppress(Exception):
                session = await claim(spare)
        if session is None:
            return await self._started(kernel_name, cwd, True)
        try:
            if cwd:
                await session.execute(
                    f"__import__('os').chdir({cwd!r})", timeout=self.startup_limit
                )
        except BaseException:
            await session.shutdown()
            raise
        return session

    def pids(self) -> list[int]:
        """Pids of the spare kernels started so far."""
        pids = []
        for task in self._spares.values():
            if task.done() and not task.cancelled() and task.exception() is None:
                pid = task.result().pid
                if pid:
                    pids.append(pid)
        return pids

    async def close(self) -> None:
        """Stop the spare kernels, then every other kernel made here that still runs (one a
        task dropped as it was cancelled, say): none is left behind, here or on a gateway."""
        spares, self._spares = list(self._spares.values()), {}
        for task in spares:
            # A kernel still starting shuts itself down (see _started), and that must finish
            # before the loop goes away.
            await stop_started(task)
        for session in list(self._live):
            log.info("stopping kernel %s, still running as the engine closes", session.kernel_name)
            await session.shutdown()
