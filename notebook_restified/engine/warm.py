"""Warm state per notebook version, one class per isolation mode behind one interface
(:class:`WarmNotebook`): ``start`` makes kernels ready (setup run), ``call`` runs one call's
cells in isolation, ``close`` stops everything.

- :class:`ForkWarmNotebook` (``fork``, Python kernels): one warm kernel whose fork server
  keeps children forked ahead; each call runs in one and the child exits after answering.
- :class:`FreshWarmNotebook` (``kernel``, any language, or a notebook that opts out of
  fork): a kernel per call, started ahead with setup run, discarded after the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar

from ..errors import CallTimeout, ExecutionError, KernelDied, RestifiedError
from ..kernelside.processes import remove_socket
from ..results import CallResult
from ..spec import NotebookSpec
from .client import (
    ForkedCallLost,
    Limits,
    UntakenCallTimeout,
    call_forked,
    fork_server_stats,
    run_generic,
    run_in_kernel,
    run_warmup,
    setup_digest,
    start_fork_server,
    stop_fork_server,
)
from .kernels import KernelSource
from .memory import process_state
from .observe import CallObserver
from .plan import call_cells, setup_cells, warm_key, warmup_cells
from .session import KernelSession, claim, stop_started

log = logging.getLogger(__name__)

# Per waiting child: the most of a warm kernel's memory it copies ahead of its call.
COPY_AHEAD_LIMIT = 64 * 1024 * 1024
# The most bytes a call's encoded result may take (max_result_size).
MAX_RESULT_SIZE = 64 * 1024 * 1024
# The most characters of each of a call's captured texts, stdout and stderr (max_output_size).
MAX_OUTPUT_SIZE = 1024 * 1024

T = TypeVar("T")


class WarmupChangedSetup(Exception):
    """A warm-up run on setup's own objects changed one of them (its kernel was shut down:
    what the warm-up left must not serve a call)."""


class WarmupFailed(Exception):
    """A declared warm-up run failed (``error``: what a call doing the same would have
    been answered); the kernel it ran in was shut down."""

    def __init__(self, error: RestifiedError, run: int) -> None:
        super().__init__(error.message)
        self.error = error
        self.run = run


class WarmNotebook:
    """Kernels kept ready for one version of one notebook."""

    isolation = ""
    """The isolation mode this class gives (``fork`` or ``kernel``)."""
    ready: asyncio.Future[None]
    """Done when the engine's warm-up of it is (set by the engine when it starts one)."""

    def __init__(
        self,
        spec: NotebookSpec,
        *,
        cwd: str | None,
        kernels: KernelSource,
        startup_limit: float,
        limits: Limits | None = None,
        warmup_limit: float = 30.0,
    ) -> None:
        self.spec = spec
        self.key = warm_key(spec)
        self.cwd = cwd
        self.kernels = kernels
        self.startup_limit = startup_limit
        self.limits = limits or Limits(MAX_RESULT_SIZE, MAX_OUTPUT_SIZE)
        self.in_flight = 0
        """Calls holding this warm state: waiting for it to be ready, queued, or running."""
        self.last_used = time.monotonic()
        self.setup_started = False
        """Whether a kernel was had and its setup cells sent (a failure after is the
        notebook's, not the machine's)."""
        self.warmup_limit = warmup_limit
        """Each warm-up run's time limit (the calls' own)."""
        self.warmup_error: RestifiedError | None = None
        """How the declared warm-up failed, if it did: the kernels then serve without it."""
        self.warmup_runs = 0
        """Warm-up runs done in the newest kernel made ready."""
        self.warmup_on = "setup"
        """What the warm-up runs on: setup's own objects (``setup``), unless a warm-up was
        seen to change them or they cannot be compared (``copies``: deep copies of them)."""

    async def _deadline(self, work: Awaitable[T], extra: float = 0.0) -> T:
        """``work`` within ``startup_limit`` (plus ``extra`` seconds); past it, stopped and
        :class:`CallTimeout`."""
        limit = self.startup_limit + extra
        try:
            return await asyncio.wait_for(work, limit)
        except asyncio.TimeoutError:
            raise CallTimeout(
                "The notebook's kernel was not ready (started, setup cells run) within"
                f" startup_time_limit, {self.startup_limit:g} s.",
                time_limit=self.startup_limit,
            ) from None

    def warmup_state(self) -> dict[str, Any] | None:
        """The declared warm-up's state (``None`` when none is declared): ``runs``
        declared, ``done`` in the kernel serving, and how it failed (``error``, the
        contract's error JSON) if it did; then the kernel serves without it."""
        if not self.spec.warmup:
            return None
        state: dict[str, Any] = {
            "runs": len(self.spec.warmup),
            "done": self.warmup_runs,
            "on": self.warmup_on,
        }
        if self.warmup_error is not None:
            state["error"] = self.warmup_error.to_json()["error"]
        return state

    async def _ready_session(self) -> KernelSession:
        """A kernel made ready within the startup limit: setup run, then the declared
        warm-up (each of its runs within the calls' time limit). A warm-up that changed
        setup's objects is done again in a new kernel on copies of them. A warm-up that
        fails is remembered (:attr:`warmup_error`), its kernel discarded, and a new kernel
        made ready without it: what a failed warm-up left in memory never serves a call."""
        runs = len(self.spec.warmup) if self.warmup_error is None else 0

        def ready() -> Awaitable[KernelSession]:
            return self._deadline(self._warm_session(runs > 0), runs * self.warmup_limit)

        try:
            try:
                return await ready()
            except WarmupChangedSetup:
                self.warmup_on = "copies"
                log.info("the warm-up changed setup's objects: it runs on copies of them")
                return await ready()
        except WarmupFailed as exc:
            self.warmup_error = exc.error
            self.warmup_runs = 0
            log.debug("warm-up run %d failed: %s", exc.run, exc.error.message)
        return await self._deadline(self._warm_session(False))

    async def _run_warmup(self, session: KernelSession) -> None:
        """Run each declared warm-up in the kernel; :class:`WarmupFailed` on the first
        that raises, runs past the time limit or ends the kernel. On setup's own objects
        when their digest can be taken, and :class:`WarmupChangedSetup` if it changed after
        the runs. (Counted here, then said at once: kernels made ready side by side, as
        spares are, must not add up.)"""
        runs = warmup_cells(self.spec)
        on = self.warmup_on
        before = await setup_digest(session, self.warmup_limit) if on == "setup" else None
        if before is None and on == "setup":  # a value that cannot be compared
            on = self.warmup_on = "copies"
        for run, cells in enumerate(runs):
            try:
                reply = await run_warmup(session, cells, self.warmup_limit, self.limits, on)
            except CallTimeout:
                error: RestifiedError = CallTimeout(
                    f"The warm-up ran past the time limit of {self.warmup_limit:g} s.",
                    time_limit=self.warmup_limit,
                )
                raise WarmupFailed(error, run) from None
            except KernelDied as exc:
                raise WarmupFailed(
                    KernelDied(f"the warm-up ended the kernel: {exc}"), run
                ) from None
            if reply.get("status") == "error":
                try:
                    CallResult.from_reply(reply, 0.0)
                except ExecutionError as exc:
                    raise WarmupFailed(exc, run) from None
        if before is not None and await setup_digest(session, self.warmup_limit) != before:
            raise WarmupChangedSetup()
        self.warmup_runs = len(runs)

    async def _warm_session(self, warmup: bool = False) -> KernelSession:
        """A started kernel that has run the setup and parameters cells (and, if
        ``warmup``, the declared warm-up)."""
        python = self.spec.language == "python"
        session = await self.kernels.kernel(self.spec.kernel_name, self.cwd, python)
        self.setup_started = True
        try:
            if python:
                reply = await run_in_kernel(
                    session,
                    {"cells": setup_cells(self.spec), "capture": False},
                    timeout=self.startup_limit,
                )
                CallResult.from_reply(reply, 0.0)
            else:
                await run_generic(
                    session, setup_cells(self.spec), self.startup_limit, self.limits.result
                )
            if warmup and python:
                await self._run_warmup(session)
        except BaseException:
            await session.shutdown()
            raise
        return session

    async def start(self) -> None:
        """Make the kernels ready: from kernel start to ready within ``startup_limit``
        (a declared warm-up has the calls' time limit per run on top)."""
        await self._start()

    async def _start(self) -> None:
        raise NotImplementedError

    async def healthy(self) -> bool:
        """Whether the kernels held can still serve calls."""
        return True

    async def call(
        self,
        cells: list[dict[str, Any]],
        time_limit: float,
        observer: CallObserver | None = None,
        media: Mapping[str, str | None] | None = None,
    ) -> CallResult:
        """Run one call's cells in isolation (``observer``: its events and record;
        ``media``: the one form wanted of each kind of result, else every form)."""
        raise NotImplementedError

    async def close(self) -> None:
        """Stop every kernel this holds."""
        raise NotImplementedError

    def kernel_pids(self) -> list[int]:
        """Process ids of the kernels held (for health reports and tests)."""
        return []


class ForkWarmNotebook(WarmNotebook):
    """One warm kernel; each call runs in a child forked from it ahead of time.

    ``copy_limit``: bytes of the kernel's memory that calls were seen to write, which each
    waiting child copies ahead of its call (copy-ahead; 0: off).
    """

    isolation = "fork"
    prefork = 2
    session: KernelSession | None = None
    socket_path: str | None = None

    def __init__(
        self, spec: NotebookSpec, *, copy_limit: int = COPY_AHEAD_LIMIT, **kw: Any
    ) -> None:
        super().__init__(spec, **kw)
        self.copy_limit = max(0, int(copy_limit))

    async def _start(self) -> None:
        """Start the kernel, run setup (and the warm-up), start its fork server."""
        session = await self._ready_session()
        sources = [cell["source"] for cell in call_cells(self.spec, {})]
        try:
            self.socket_path = await self._deadline(
                start_fork_server(
                    session,
                    self.prefork,
                    self.copy_limit,
                    sources,
                    self.startup_limit,
                    self.limits.output,
                )
            )
        except BaseException:
            await session.shutdown()
            raise
        self.session = session

    async def fork_stats(self) -> dict[str, Any] | None:
        """The fork server's counts: children waiting, running and forked so far, the
        page faults a call took, and the bytes each waiting child copies ahead."""
        if self.session is None:
            return None
        return await fork_server_stats(self.session)

    #: Set when a call found no child to take it: the fork server stopped handing over.
    stalled = False

    async def healthy(self) -> bool:
        """Whether the warm kernel still runs and hands calls over: not stopped (a call's
        code may stop its parent with SIGSTOP), and no call went untaken."""
        if self.stalled or self.session is None:
            return False
        pid = self.session.pid
        if pid is not None and process_state(pid) in ("T", "t"):
            return False  # stopped: it would fork no child for the next calls
        return await self.session.is_alive()

    async def call(
        self,
        cells: list[dict[str, Any]],
        time_limit: float,
        observer: CallObserver | None = None,
        media: Mapping[str, str | None] | None = None,
    ) -> CallResult:
        """Hand the cells to a waiting child; kill it past the time limit or on cancel."""
        assert self.socket_path is not None
        started = time.perf_counter()
        try:
            reply = await call_forked(
                self.socket_path, cells, time_limit, self.limits, observer, media
            )
        except UntakenCallTimeout:
            self.stalled = True  # the next call warms this version again
            raise
        except ForkedCallLost as exc:
            if not exc.taken and not await self.healthy():
                raise KernelDied("the notebook's kernel died") from exc
            raise KernelDied(
                "the process running the call exited before answering"
                " (os._exit, a crash, or out of memory)"
            ) from exc
        return CallResult.from_reply(reply, time.perf_counter() - started)

    async def close(self) -> None:
        """Stop the fork server and the kernel."""
        if self.session is None:
            return
        with contextlib.suppress(Exception):
            await stop_fork_server(self.session)
        await self.session.shutdown()
        self.session = None
        # A kernel that died (or was killed) could not remove its socket: do it here.
        if self.socket_path is not None:
            remove_socket(self.socket_path)

    def kernel_pids(self) -> list[int]:
        """The warm kernel's pid."""
        pid = self.session.pid if self.session else None
        return [pid] if pid else []


class FreshWarmNotebook(WarmNotebook):
    """A kernel per call, started ahead of time with setup run; discarded after the call."""

    isolation = "kernel"
    spare_count = 1

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._spares: list[asyncio.Task[KernelSession]] = []

    def _refill(self) -> None:
        while len(self._spares) < self.spare_count:
            self._spares.append(asyncio.ensure_future(self._ready_session()))

    async def _start(self) -> None:
        """Start the first spare kernel and wait for it."""
        self._refill()
        await asyncio.shield(self._spares[0])

    async def call(
        self,
        cells: list[dict[str, Any]],
        time_limit: float,
        observer: CallObserver | None = None,
        media: Mapping[str, str | None] | None = None,
    ) -> CallResult:
        """Take a spare kernel, run the call in it, discard it. (An ``observer`` hears
        Python kernels only: other languages run without the kernel-side runtime.)"""
        self._refill()
        task = self._spares.pop(0)
        self._refill()
        session = await claim(task)  # cancelled (the caller left): the kernel is stopped
        started = time.perf_counter()
        try:
            if self.spec.language == "python":
                # The kernel is discarded after: orphans of the call come back to it, so
                # that its process tree, killed with it, holds them.
                request = {"cells": cells, "limits": self.limits.request(), "subreaper": True}
                if media is not None:
                    request["media"] = dict(media)
                reply = await run_in_kernel(session, request, time_limit, observer)
            else:
                reply = await run_generic(session, cells, time_limit, self.limits.result)
            return CallResult.from_reply(reply, time.perf_counter() - started)
        finally:
            await session.shutdown()

    async def close(self) -> None:
        """Stop the spare kernels."""
        spares, self._spares = self._spares, []
        for task in spares:
            # A kernel still starting shuts itself down (see _warm_session); one that got
            # ready as it was cancelled is stopped here.
            await stop_started(task)

    def kernel_pids(self) -> list[int]:
        """Pids of the started spare kernels."""
        pids = []
        for task in self._spares:
            if task.done() and not task.cancelled() and task.exception() is None:
                pid = task.result().pid
                if pid:
                    pids.append(pid)
        return pids


def warm_notebook(
    isolation: str,
    spec: NotebookSpec,
    *,
    cwd: str | None,
    kernels: KernelSource,
    startup_limit: float,
    copy_limit: int = COPY_AHEAD_LIMIT,
    limits: Limits | None = None,
    warmup_limit: float = 30.0,
) -> WarmNotebook:
    """A (not yet started) warm notebook of the class for ``isolation`` (``warmup_limit``:
    each declared warm-up run's time limit)."""
    common: dict[str, Any] = {
        "cwd": cwd,
        "kernels": kernels,
        "startup_limit": startup_limit,
        "limits": limits,
        "warmup_limit": warmup_limit,
    }
    if isolation == "fork":
        return ForkWarmNotebook(spec, copy_limit=copy_limit, **common)
    return FreshWarmNotebook(spec, **common)
