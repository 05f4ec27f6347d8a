"""The pool: a bounded number of calls run at once (``pool_size``), a bounded queue
waits (``queue_size``; past it :class:`~notebook_restified.errors.Busy`), and a bounded set
of warm notebooks is kept (``max_warm``, ``max_memory``: least recently used ones close).
Warming a notebook holds no call slot, and a version of a notebook that is warming does not
stop the version before it from serving its own calls.
:class:`Engine` is what the endpoint, ``KernelModel`` and the CLI call."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jupyter_client.kernelspec import KernelSpecManager

from ..errors import Busy, CallTimeout, ExecutionError, KernelDied, RestifiedError
from ..results import CallResult
from ..spec import NotebookSpec
from .client import Limits
from .housekeeping import sweep_directories
from .kernels import KernelManagerFactory, KernelSource
from .memory import pool_memory
from .observe import CallObserver
from .plan import ISOLATION_MODES, call_cells, choose_isolation, many_elements, warm_key
from .warm import (
    COPY_AHEAD_LIMIT,
    MAX_OUTPUT_SIZE,
    MAX_RESULT_SIZE,
    ForkWarmNotebook,
    WarmNotebook,
    warm_notebook,
)

log = logging.getLogger(__name__)


# What a warm state serves: the notebook's warm key (kernel, setup and parameters cells),
# its working directory and its isolation mode.
Version = tuple[str, str | None, str]


@dataclass
class _Slot:
    """One notebook's warm states."""

    warm: WarmNotebook | None = None
    """The newest version that is ready; it serves the calls of that version."""
    starting: dict[Version, WarmNotebook] = field(default_factory=dict)
    """Versions warming up, each shared by the calls waiting for it."""
    failure: tuple[Version, RestifiedError] | None = None
    """The last version whose setup failed, and how: answered at once until it changes."""
    generation: int = 0
    """Warm-ups started so far: a newer one is never replaced by an older one."""


class Engine:
    """Runs calls of any number of notebooks through a bounded pool of warm kernels.

    ``pool_size`` calls run at once; ``queue_size`` more may wait; past that a call gets
    :class:`Busy`. At most ``max_warm`` notebook versions are kept warm (least recently
    used ones are closed), and, if ``max_memory`` (bytes) is set, only as many as fit in it
    with the spare kernels. A call's encoded result may take ``max_result_size`` bytes
    (:class:`~notebook_restified.errors.ResultTooLarge` past it), each of its captured texts
    ``max_output_size`` characters. Kernels come from ``kernel_manager_factory`` if given (with
    ``remote_kernels``, a gateway's: then every call takes a kernel of its own), else
    local ones of ``kernel_spec_manager``'s kernel specs.
    """

    def __init__(
        self,
        *,
        pool_size: int = 2,
        queue_size: int = 16,
        time_limit: float = 30.0,
        startup_limit: float = 120.0,
        isolation: str = "fork",
        max_warm: int = 8,
        spare_kernels: int = 1,
        copy_ahead_limit: int = COPY_AHEAD_LIMIT,
        max_memory: int = 0,
        max_result_size: int = MAX_RESULT_SIZE,
        max_output_size: int = MAX_OUTPUT_SIZE,
        kernel_manager_factory: KernelManagerFactory | None = None,
        kernel_spec_manager: KernelSpecManager | None = None,
        remote_kernels: bool = False,
    ) -> None:
        if isolation not in ISOLATION_MODES:
            raise ValueError(f"isolation must be one of {ISOLATION_MODES}, not {isolation!r}")
        if remote_kernels:  # a fork's socket is on the kernel's machine: a kernel per call
            isolation = "kernel"
        self.pool_size = max(1, pool_size)
        self.queue_size = max(0, queue_size)
        self.time_limit = time_limit
        self.startup_limit = startup_limit
        self.isolation = isolation
        self.max_warm = max(1, max_warm)
        self.copy_ahead_limit = max(0, copy_ahead_limit)
        self.max_memory = max(0, max_memory)
        self.limits = Limits(max(0, max_result_size), max(0, max_output_size))
        self.kernels = KernelSource(
            kernel_manager_factory,
            startup_limit,
            spare_kernels,
            kernel_spec_manager,
            remote_kernels,
        )
        self._slots: dict[str, _Slot] = {}
        self._generation: dict[WarmNotebook, int] = {}
        self._warming: set[asyncio.Future[None]] = set()
        self._running = 0
        self._waiting = 0
        self._turn = asyncio.Condition()
        self._retired: set[WarmNotebook] = set()
        self._closing: set[asyncio.Task[None]] = set()
        self._closed = False
        # What earlier engines that were killed (so could not clean up) left behind.
        for path in sweep_directories():
            log.info("removed %s, left behind by a process that is gone", path)

    async def call(
        self,
        name: str,
        spec: NotebookSpec,
        values: Mapping[str, Any],
        *,
        cwd: str | None = None,
        time_limit: float | None = None,
        observer: CallObserver | None = None,
        pooled: bool = True,
        media: Mapping[str, str | None] | None = None,
    ) -> CallResult:
        """Run the notebook ``name`` (its path: the pool's key) as described by ``spec``.

        ``values`` must already be validated against ``spec``. ``observer`` watches the
        call (events, per-cell record). ``media``: the one media type wanted of each kind
        of result (the result is encoded only in that form), else every form is. ``pooled=False``: the call takes none of the pool's
        slots (the caller holds slots of its own, as asynchronous runs do).
        """
        if self._closed:
            raise RestifiedError("the engine is closed")
        limit = self.time_limit if time_limit is None else time_limit
        if many_elements(values):  # seconds of rendering for millions: not on the loop
            cells = await asyncio.to_thread(call_cells, spec, values)
        else:
            cells = call_cells(spec, values)
        # The notebook's warm state first, outside the call slots: warming holds none.
        warm = await self._join(name, spec, cwd)
        try:
            if pooled:
                await self._enter()
            try:
                return await warm.call(cells, limit, observer, media)
            finally:
                warm.last_used = time.monotonic()
                if pooled:
                    await self._leave()
        finally:
            self._release(warm)

    async def _enter(self) -> None:
        async with self._turn:
            if self._running < self.pool_size:
                self._running += 1
                return
            if self._waiting >= self.queue_size:
                raise Busy(
                    f"{self._running} calls are running and {self._waiting} waiting; retry shortly",
                    retry_after=max(1, round(self.time_limit / 10)),
                )
            self._waiting += 1
            try:
                await self._turn.wait_for(lambda: self._running < self.pool_size)
            finally:
                self._waiting -= 1
            self._running += 1

    async def _leave(self) -> None:
        async with self._turn:
            self._running -= 1
            self._turn.notify()

    async def _join(self, name: str, spec: NotebookSpec, cwd: str | None) -> WarmNotebook:
        """The ready warm state of ``spec``'s version of ``name``, held for one call (see
        :meth:`_release`): the one serving, or one warming up (started if none is). A
        version whose setup failed is answered at once with its error until it changes."""
        mode = choose_isolation(spec, self.isolation)
        version: Version = (warm_key(spec), cwd, mode)
        slot = self._slots.setdefault(name, _Slot())
        warm = slot.warm
        if warm is not None and self._version(warm) == version:
            warm.in_flight += 1
            try:
                healthy = await warm.healthy()
            except BaseException:
                self._release(warm)
                raise
            if healthy:
                warm.spec = spec  # the body may have changed: the state serves it
                return warm
            self._release(warm)
            if slot.warm is warm:  # its kernel died: warm this version again
                slot.warm = None
                self._retire(warm)
        warm = slot.starting.get(version)
        if warm is None:
            if slot.failure is not None and slot.failure[0] == version:
                raise copy.copy(slot.failure[1])  # a copy: raising adds to its traceback
            warm = self._start(name, slot, spec, cwd, mode, version)
        if self._waiting >= self.queue_size:
            raise Busy(
                f"{self._running} calls are running and {self._waiting} waiting; retry shortly",
                retry_after=max(1, round(self.time_limit / 10)),
            )
        warm.in_flight += 1
        self._waiting += 1
        try:
            await asyncio.shield(warm.ready)
        except BaseException:
            self._release(warm)
            raise
        finally:
            self._waiting -= 1
        return warm

    @staticmethod
    def _version(warm: WarmNotebook) -> Version:
        return (warm.key, warm.cwd, warm.isolation)

    def _start(
        self,
        name: str,
        slot: _Slot,
        spec: NotebookSpec,
        cwd: str | None,
        mode: str,
        version: Version,
    ) -> WarmNotebook:
        """Start warming ``version`` of ``name`` in the background."""
        fresh = warm_notebook(
            mode,
            spec,
            cwd=cwd,
            kernels=self.kernels,
            startup_limit=self.startup_limit,
            copy_limit=self.copy_ahead_limit,
            limits=self.limits,
            warmup_limit=self.time_limit,
        )
        slot.generation += 1
        self._generation[fresh] = slot.generation
        slot.starting[version] = fresh
        fresh.ready = asyncio.ensure_future(self._warm_up(name, slot, fresh, version))
        self._warming.add(fresh.ready)
        fresh.ready.add_done_callback(self._warm_up_done)
        return fresh

    def _warm_up_done(self, task: asyncio.Future[None]) -> None:
        self._warming.discard(task)
        if not task.cancelled():
            task.exception()  # its callers were told; none left is no error to report

    async def _warm_up(self, name: str, slot: _Slot, fresh: WarmNotebook, version: Version) -> None:
        """Start ``fresh`` (within the startup limit); once ready it serves its version,
        and the version before it goes when its last call ends."""
        try:
            await fresh.start()
        except BaseException as exc:
            if slot.starting.get(version) is fresh:
                del slot.starting[version]
            self._generation.pop(fresh, None)
            # A spare kernel it started ahead (kernel isolation) may have got ready since.
            with contextlib.suppress(Exception):
                await asyncio.shield(fresh.close())
            # The notebook's own failure is kept until it changes; the machine's is not.
            setup_failed = isinstance(exc, (ExecutionError, CallTimeout)) or (
                isinstance(exc, KernelDied) and fresh.setup_started
            )
            if setup_failed and isinstance(exc, RestifiedError):
                slot.failure = (version, exc)
                log.info("setup of %s failed; answered as is until it changes: %s", name, exc)
            raise
        if slot.starting.get(version) is fresh:
            del slot.starting[version]
        if self._closed:
            await fresh.close()
            raise RestifiedError("the engine is closed")
        if slot.failure is not None and slot.failure[0] == version:
            slot.failure = None
        if fresh.warmup_error is not None:
            # Reported like a failed setup (the log, the spec's warnings, the status), but
            # the notebook serves: from a kernel that ran setup only.
            log.warning(
                "the warm-up of %s failed; it serves without warm-up until it changes: %s",
                name,
                fresh.warmup_error.message,
            )
        current = slot.warm
        if current is None or self._generation.get(current, 0) < self._generation[fresh]:
            slot.warm = fresh
            if current is not None:
                self._retire(current)
            await self._evict(keep=name)
        else:  # an older version, ready after a newer one: it serves its own callers only
            self._retire(fresh)

    def _release(self, warm: WarmNotebook) -> None:
        """A call is done with ``warm``: a retired one closes after its last call."""
        warm.in_flight -= 1
        if warm in self._retired and warm.in_flight == 0:
            self._retired.discard(warm)
            self._close_later(warm)

    def _retire(self, warm: WarmNotebook) -> None:
        self._generation.pop(warm, None)
        if warm.in_flight:
            self._retired.add(warm)  # closed when its last call ends
        else:
            self._close_later(warm)

    def _close_later(self, warm: WarmNotebook) -> None:
        """Close in the background: no call waits for an old kernel to shut down."""
        task = asyncio.ensure_future(warm.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _evict(self, keep: str) -> None:
        warm_slots = [(n, s) for n, s in self._slots.items() if s.warm is not None and n != keep]
        excess = len(warm_slots) + 1 - self.max_warm
        for slot_name, slot in sorted(warm_slots, key=lambda ns: ns[1].warm.last_used)[:excess]:  # type: ignore[union-attr]
            if slot.warm is not None:
                self._retire(slot.warm)
                slot.warm = None
            log.debug(
                "closed the warm kernel of %s (pool holds at most %d)", slot_name, self.max_warm
            )
        if self.max_memory:
            await self._evict_for_memory(keep)

    async def _evict_for_memory(self, keep: str) -> None:
        """Stop the least recently used warm notebooks until the pool's memory is within
        ``max_memory``; ``keep`` (about to serve a call) stays."""
        warm = {n: s.warm for n, s in self._slots.items() if s.warm is not None}
        pids = {n: w.kernel_pids() for n, w in warm.items()}
        sizes, spare = await asyncio.to_thread(pool_memory, pids, self.kernels.pids())
        if spare is None:
            return  # no /proc: memory is not measured here
        total = spare + sum(size or 0 for size in sizes.values())
        for name in sorted((n for n in warm if n != keep), key=lambda n: warm[n].last_used):
            if total <= self.max_memory:
                break
            slot = self._slots[name]
            if slot.warm is not warm[name]:
                continue  # changed meanwhile
            self._retire(warm[name])
            slot.warm = None
            total -= sizes.get(name) or 0
            log.info(
                "closed the warm kernel of %s (pool memory limit %d bytes)", name, self.max_memory
            )
        if total > self.max_memory:
            log.warning(
                "the warm pool uses %.0f MiB, over its limit of %.0f MiB, with only %s warm",
                total / 2**20,
                self.max_memory / 2**20,
                keep,
            )

    def warmup_state(self, name: str, spec: NotebookSpec) -> dict[str, Any] | None:
        """The declared warm-up's state in the kernel serving ``spec``'s version of ``name``
        (see :meth:`WarmNotebook.warmup_state`); ``None`` if none is declared or that
        version is not warm."""
        slot = self._slots.get(name)
        warm = slot.warm if slot is not None else None
        if warm is None or warm.key != warm_key(spec):
            return None
        return warm.warmup_state()

    def is_warm(self, name: str) -> bool:
        """Whether ``name`` has a warm kernel now."""
        slot = self._slots.get(name)
        return slot is not None and slot.warm is not None

    async def prepare(self, name: str, spec: NotebookSpec, *, cwd: str | None = None) -> None:
        """Make ``name``'s warm kernel ready for ``spec`` ahead of any call (the version
        serving now keeps serving its calls meanwhile)."""
        if not self._closed:
            warm = await self._join(name, spec, cwd)
            self._release(warm)

    async def invalidate(self, name: str) -> None:
        """Close the warm kernels of ``name`` (its notebook changed or went away)."""
        slot = self._slots.get(name)
        if slot is None:
            return
        if slot.warm is not None:
            self._retire(slot.warm)
            slot.warm = None

    def stats(self) -> dict[str, Any]:
        """Pool occupancy and memory, for the status route."""
        warm = {n: s.warm for n, s in self._slots.items() if s.warm is not None}
        memory, spare_memory = pool_memory(
            {name: w.kernel_pids() for name, w in warm.items()}, self.kernels.pids()
        )
        return {
            "running": self._running,
            "waiting": self._waiting,
            "pool_size": self.pool_size,
            "queue_size": self.queue_size,
            "max_warm_notebooks": self.max_warm,
            "max_memory_bytes": self.max_memory or None,
            "warm_notebooks": [
                {
                    "path": name,
                    "isolation": w.isolation,
                    "memory_bytes": memory[name],
                    "kernel_pids": w.kernel_pids(),
                    "warmup": w.warmup_state(),
                }
                for name, w in sorted(warm.items())
            ],
            "spare_kernels": {
                "pids": self.kernels.pids(),
                "memory_bytes": spare_memory,
            },
            "memory_bytes": None
            if spare_memory is None
            else spare_memory + sum(v or 0 for v in memory.values()),
            "kernel_pids": self.kernel_pids(),
        }

    async def fork_stats(self) -> dict[str, dict[str, Any]]:
        """The fork servers' counts, by notebook (fork isolation only)."""
        forks = {
            name: slot.warm
            for name, slot in sorted(self._slots.items())
            if isinstance(slot.warm, ForkWarmNotebook)
        }
        answers = await asyncio.gather(
            *(warm.fork_stats() for warm in forks.values()), return_exceptions=True
        )
        found = {}
        for name, stats in zip(forks, answers, strict=True):
            if isinstance(stats, BaseException):  # a kernel going away: nothing to report
                log.debug("no fork stats for %s: %s", name, stats)
            elif stats is not None:
                found[name] = stats
        return found

    def kernel_pids(self) -> list[int]:
        """Pids of every kernel process the engine holds (spares included)."""
        pids: list[int] = list(self.kernels.pids())
        for slot in self._slots.values():
            if slot.warm is not None:
                pids.extend(slot.warm.kernel_pids())
        for warm in self._retired:
            pids.extend(warm.kernel_pids())
        return pids

    async def close(self) -> None:
        """Stop every kernel; no process is left behind."""
        self._closed = True
        for task in list(self._warming):
            task.cancel()  # a warm-up cancelled stops what it started
        await asyncio.gather(*self._warming, return_exceptions=True)
        for slot in self._slots.values():
            if slot.warm is not None:
                await slot.warm.close()
                slot.warm = None
        for warm in list(self._retired):
            await warm.close()
        self._retired.clear()
        await asyncio.gather(*self._closing, return_exceptions=True)
        await self.kernels.close()
