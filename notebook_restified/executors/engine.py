"""The engine shared by the HTTP endpoint, KernelModel and the CLI.

spec -> values -> cells of the call -> a warm kernel for that notebook version -> result.
Warm kernels have run the setup cells (before ``parameters``) and the parameters cell once;
each call then runs the injected parameters, the body and the return cell in isolation:

- ``fork`` (Python kernels): the warm kernel keeps a child forked ahead of time; the call
  runs in that copy-on-write child, which exits after answering.
- ``kernel`` (any language, or when a notebook opts out of fork): the call takes a
  pre-started kernel with setup already run, and that kernel is discarded after the call.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager

from ..errors import Busy, CallTimeout, ExecutionError, KernelDied, RestifiedError
from ..parameters import render_injected
from ..spec import NotebookSpec
from . import runtime
from .session import _RUNTIME_REF, KernelSession, kill_process_group

log = logging.getLogger(__name__)

ISOLATION_MODES = ("fork", "kernel")
# Per waiting child: the most of a warm kernel's memory it copies ahead of its call.
COPY_AHEAD_LIMIT = 64 * 1024 * 1024
KernelManagerFactory = Callable[[str], AsyncKernelManager]


@dataclass(frozen=True)
class CallResult:
    """The outcome of one successful call."""

    value: Any
    """The return value as natural JSON (``None`` for an image or when nothing returns)."""
    kind: str = "json"
    """``"json"``, ``"image"`` (see :attr:`png`) or ``"table"`` (see :attr:`csv`)."""
    png: bytes | None = None
    csv: str | None = None
    is_repr: bool = False
    """The value had no JSON form; :attr:`value` is its ``repr``."""
    stdout: str = ""
    stderr: str = ""
    duration: float = 0.0
    has_value: bool = True

    @classmethod
    def from_reply(cls, reply: Mapping[str, Any], duration: float) -> CallResult:
        """Build from the runtime's reply; raise ExecutionError for a failed call."""
        if reply.get("status") != "ok":
            error = reply.get("error") or {}
            raise ExecutionError(
                cell_index=error.get("cell_index"),
                cell_id=error.get("cell_id"),
                ename=str(error.get("ename", "")),
                evalue=str(error.get("evalue", "")),
                traceback=error.get("traceback", []),
                stdout=reply.get("stdout", ""),
                stderr=reply.get("stderr", ""),
            )
        result = reply.get("result") or {}
        png = result.get("png")
        return cls(
            value=result.get("json"),
            kind=str(result.get("kind", "json")),
            png=base64.b64decode(png) if png else None,
            csv=result.get("csv"),
            is_repr=bool(result.get("repr")),
            stdout=str(reply.get("stdout", "")),
            stderr=str(reply.get("stderr", "")),
            duration=duration,
            has_value=bool(reply.get("has_value", True)),
        )


def _cell(spec: NotebookSpec, index: int) -> dict[str, Any]:
    return {
        "index": index,
        "id": spec.cell_ids[index],
        "source": spec.sources[index],
        "return": index == spec.return_cell,
    }


def setup_cells(spec: NotebookSpec) -> list[dict[str, Any]]:
    """The cells a warm kernel runs ahead of any call: setup, then the parameters cell."""
    cells = [_cell(spec, i) for i in spec.setup_cells]
    if spec.parameters_cell is not None:
        cells.append(_cell(spec, spec.parameters_cell))
    return cells


def call_cells(spec: NotebookSpec, values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The cells of one call: the injected parameters (if any), the body, the return cell."""
    cells = []
    if values:
        cells.append(
            {
                "index": None,
                "id": "injected-parameters",
                "source": render_injected(spec, values),
                "return": False,
                "plain": True,  # literals only: no IPython syntax to transform
            }
        )
    return cells + [_cell(spec, i) for i in spec.body_cells]


def warm_key(spec: NotebookSpec) -> str:
    """What a warm kernel depends on: kernel, setup and parameters cells (not the body)."""
    digest = hashlib.sha256()
    for part in (spec.kernel_name, spec.language, *(c["source"] for c in setup_cells(spec))):
        digest.update(part.encode("utf-8") + b"\0")
    return digest.hexdigest()


def choose_isolation(spec: NotebookSpec, configured: str) -> str:
    """``fork`` only where it can work (a Python kernel on a platform with fork) and where
    neither the server nor the notebook (``metadata.restified.isolation``) opted out."""
    if (
        configured == "fork"
        and spec.isolation != "kernel"
        and spec.language == "python"
        and hasattr(os, "fork")
    ):
        return "fork"
    return "kernel"


async def _read_frame(reader: asyncio.StreamReader) -> dict[str, Any]:
    header = await reader.readexactly(8)
    body = await reader.readexactly(int.from_bytes(header, "big"))
    return json.loads(body)  # type: ignore[no-any-return]


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

    def _new(self, kernel_name: str, cwd: str | None) -> KernelSession:
        manager = self.factory(kernel_name) if self.factory is not None else None
        return KernelSession(
            kernel_name,
            cwd=cwd,
            kernel_manager=manager,
            kernel_spec_manager=self.kernel_spec_manager,
            remote=self.remote,
        )

    async def _started(self, kernel_name: str, cwd: str | None, python: bool) -> KernelSession:
        session = self._new(kernel_name, cwd)
        try:
            await session.start()
            if python:
                await session.install_runtime()
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
                session = await spare
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
        """Stop the spare kernels."""
        spares, self._spares = list(self._spares.values()), {}
        for task in spares:
            task.cancel()  # a kernel still starting shuts itself down (see _started)...
            await asyncio.wait({task})  # ...and that must finish before the loop goes away
            if not task.cancelled() and task.exception() is None:
                await task.result().shutdown()


class WarmNotebook:
    """Kernels kept ready for one version of one notebook."""

    def __init__(
        self,
        spec: NotebookSpec,
        *,
        cwd: str | None,
        kernels: KernelSource,
        startup_limit: float,
    ) -> None:
        self.spec = spec
        self.key = warm_key(spec)
        self.cwd = cwd
        self.kernels = kernels
        self.startup_limit = startup_limit
        self.in_flight = 0
        self.last_used = time.monotonic()

    async def _warm_session(self) -> KernelSession:
        """A started kernel that has run the setup and parameters cells."""
        python = self.spec.language == "python"
        session = await self.kernels.kernel(self.spec.kernel_name, self.cwd, python)
        try:
            if python:
                reply = await session.run_in_kernel(
                    {"cells": setup_cells(self.spec), "capture": False},
                    timeout=self.startup_limit,
                )
                CallResult.from_reply(reply, 0.0)
            else:
                await _run_generic(session, setup_cells(self.spec), self.startup_limit)
        except BaseException:
            await session.shutdown()
            raise
        return session

    async def start(self) -> None:
        """Make the kernels ready."""
        raise NotImplementedError

    async def call(self, cells: list[dict[str, Any]], time_limit: float) -> CallResult:
        """Run one call's cells in isolation."""
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

    prefork = 2
    session: KernelSession | None = None
    socket_path: str | None = None

    def __init__(
        self, spec: NotebookSpec, *, copy_limit: int = COPY_AHEAD_LIMIT, **kw: Any
    ) -> None:
        super().__init__(spec, **kw)
        self.copy_limit = max(0, int(copy_limit))

    async def start(self) -> None:
        """Start the kernel, run setup, start its fork server."""
        session = await self._warm_session()
        sources = json.dumps([cell["source"] for cell in call_cells(self.spec, {})])
        try:
            self.socket_path = await session.evaluate_json(
                f"{_RUNTIME_REF}.start_fork_server("
                f"get_ipython(), {self.prefork}, {self.copy_limit}, {sources!r})",
                timeout=self.startup_limit,
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
        stats = await self.session.evaluate_json(f"{_RUNTIME_REF}.fork_server_stats()", timeout=5)
        return stats if isinstance(stats, dict) else None

    async def healthy(self) -> bool:
        """Whether the warm kernel still runs."""
        return self.session is not None and await self.session.is_alive()

    async def call(self, cells: list[dict[str, Any]], time_limit: float) -> CallResult:
        """Hand the cells to a waiting child; kill it past the time limit or on cancel."""
        assert self.socket_path is not None
        started = time.perf_counter()
        pid: int | None = None
        writer: asyncio.StreamWriter | None = None

        async def exchange() -> dict[str, Any]:
            nonlocal pid, writer
            reader, writer = await asyncio.open_unix_connection(socket_path)
            # The request goes out at once; the child's hello (its pid) crosses it.
            body = json.dumps({"cells": cells}, allow_nan=False).encode("utf-8")
            writer.write(len(body).to_bytes(8, "big") + body)
            pid = int((await _read_frame(reader))["pid"])
            await writer.drain()
            return await _read_frame(reader)

        socket_path = self.socket_path
        try:
            reply = await asyncio.wait_for(exchange(), time_limit)
        except asyncio.TimeoutError:
            if pid is not None:
                kill_process_group(pid)
            raise CallTimeout(time_limit=time_limit) from None
        except asyncio.CancelledError:
            if pid is not None:
                kill_process_group(pid)
            raise
        except (asyncio.IncompleteReadError, ConnectionError, FileNotFoundError) as exc:
            if pid is None and not await self.healthy():
                raise KernelDied("the notebook's kernel died") from exc
            raise KernelDied(
                "the process running the call exited before answering"
                " (os._exit, a crash, or out of memory)"
            ) from exc
        finally:
            if writer is not None:
                writer.close()
        return CallResult.from_reply(reply, time.perf_counter() - started)

    async def close(self) -> None:
        """Stop the fork server and the kernel."""
        if self.session is None:
            return
        with contextlib.suppress(Exception):
            await self.session.evaluate_json(f"{_RUNTIME_REF}.stop_fork_server()", timeout=5)
        await self.session.shutdown()
        self.session = None
        # A kernel that died (or was killed) could not remove its socket: do it here.
        if self.socket_path is not None:
            runtime.remove_socket(self.socket_path)

    def kernel_pids(self) -> list[int]:
        """The warm kernel's pid."""
        pid = self.session.pid if self.session else None
        return [pid] if pid else []


class FreshWarmNotebook(WarmNotebook):
    """A kernel per call, started ahead of time with setup run; discarded after the call."""

    spare_count = 1

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._spares: list[asyncio.Task[KernelSession]] = []

    def _refill(self) -> None:
        while len(self._spares) < self.spare_count:
            self._spares.append(asyncio.ensure_future(self._warm_session()))

    async def start(self) -> None:
        """Start the first spare kernel and wait for it."""
        self._refill()
        await asyncio.shield(self._spares[0])

    async def call(self, cells: list[dict[str, Any]], time_limit: float) -> CallResult:
        """Take a spare kernel, run the call in it, discard it."""
        self._refill()
        task = self._spares.pop(0)
        self._refill()
        session = await task
        started = time.perf_counter()
        try:
            if self.spec.language == "python":
                reply = await session.run_in_kernel({"cells": cells}, timeout=time_limit)
            else:
                reply = await _run_generic(session, cells, time_limit)
            return CallResult.from_reply(reply, time.perf_counter() - started)
        finally:
            await session.shutdown()

    async def close(self) -> None:
        """Stop the spare kernels."""
        spares, self._spares = self._spares, []
        for task in spares:
            if task.done():
                if not task.cancelled() and task.exception() is None:
                    await task.result().shutdown()
                continue
            task.cancel()  # a kernel still starting shuts itself down (see _warm_session)
            with contextlib.suppress(BaseException):
                await task

    def kernel_pids(self) -> list[int]:
        """Pids of the started spare kernels."""
        pids = []
        for task in self._spares:
            if task.done() and not task.cancelled() and task.exception() is None:
                pid = task.result().pid
                if pid:
                    pids.append(pid)
        return pids


async def _run_generic(
    session: KernelSession, cells: list[dict[str, Any]], time_limit: float
) -> dict[str, Any]:
    """Run cells with plain execute requests (any kernel language); read the return cell's
    ``execute_result``: ``application/json`` if given, else text/plain parsed as JSON if it
    parses, else the text itself."""
    started = time.perf_counter()
    result: dict[str, Any] = {"json": None, "kind": "json", "png": None, "csv": None}
    has_value = False
    for cell in cells:
        remaining = time_limit - (time.perf_counter() - started)
        if remaining <= 0:
            raise CallTimeout(time_limit=time_limit)
        outcome = await session.execute(
            cell["source"], timeout=remaining, silent=False, collect_outputs=True
        )
        if outcome.reply.get("status") != "ok":
            return {
                "status": "error",
                "error": {
                    "cell_index": cell.get("index"),
                    "cell_id": cell.get("id"),
                    "ename": outcome.reply.get("ename", ""),
                    "evalue": outcome.reply.get("evalue", ""),
                    "traceback": outcome.reply.get("traceback", []),
                },
            }
        if cell.get("return"):
            for output in outcome.outputs:
                if output["msg_type"] == "execute_result":
                    has_value = True
                    result = _generic_result(output.get("data", {}))
    return {"status": "ok", "has_value": has_value, "result": result}


def _generic_result(data: Mapping[str, Any]) -> dict[str, Any]:
    if "image/png" in data:
        return {"json": None, "kind": "image", "png": data["image/png"], "csv": None}
    if "application/json" in data:
        return {"json": data["application/json"], "kind": "json", "png": None, "csv": None}
    text = str(data.get("text/plain", ""))
    try:
        value = json.loads(text)
    except ValueError:
        value = text
    return {"json": value, "kind": "json", "png": None, "csv": None}


def _mode(warm: WarmNotebook) -> str:
    return "fork" if isinstance(warm, ForkWarmNotebook) else "kernel"


def process_tree_rss(pids: list[int]) -> int | None:
    """Memory (bytes) of ``pids`` and all their descendants; None off Linux.

    Counted as proportional set size where the kernel reports it, so the pages a fork
    shares with its kernel are not counted twice; else resident size (an upper bound).
    """
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    parents: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pid = int(entry.name)
        parents.setdefault(int(fields.get("PPid", "0").strip() or 0), []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
    total, stack, seen = 0, list(pids), set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += _pss(pid, rss.get(pid, 0))
        stack.extend(parents.get(pid, []))
    return total


def pool_memory(
    warm_pids: Mapping[str, list[int]], spare_pids: list[int]
) -> tuple[dict[str, int | None], int | None]:
    """Memory (bytes, see :func:`process_tree_rss`) of each warm notebook's kernel processes,
    by name, and of the spare kernels."""
    return (
        {name: process_tree_rss(pids) for name, pids in warm_pids.items()},
        process_tree_rss(spare_pids),
    )


def _pss(pid: int, fallback: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return fallback


@dataclass
class _Slot:
    warm: WarmNotebook | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # (warm key, error, when): setup that raised is not re-run for every call at once.
    setup_failure: tuple[str, ExecutionError, float] | None = None


# Seconds a setup error is answered from memory before the setup cells are tried again.
SETUP_RETRY_SECONDS = 5.0


class Engine:
    """Runs calls of any number of notebooks through a bounded pool of warm kernels.

    ``pool_size`` calls run at once; ``queue_size`` more may wait; past that a call gets
    :class:`Busy`. At most ``max_warm`` notebook versions are kept warm (least recently
    used ones are closed), and, if ``max_memory`` (bytes) is set, only as many as fit in it
    with the spare kernels. Kernels come from ``kernel_manager_factory`` if given (with
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
        self.kernels = KernelSource(
            kernel_manager_factory,
            startup_limit,
            spare_kernels,
            kernel_spec_manager,
            remote_kernels,
        )
        self._slots: dict[str, _Slot] = {}
        self._running = 0
        self._waiting = 0
        self._turn = asyncio.Condition()
        self._retired: set[WarmNotebook] = set()
        self._closing: set[asyncio.Task[None]] = set()
        self._closed = False
        # What earlier engines that were killed (so could not clean up) left behind.
        for path in runtime.sweep_directories():
            log.info("removed %s, left behind by a process that is gone", path)

    async def call(
        self,
        name: str,
        spec: NotebookSpec,
        values: Mapping[str, Any],
        *,
        cwd: str | None = None,
        time_limit: float | None = None,
    ) -> CallResult:
        """Run the notebook ``name`` (its path: the pool's key) as described by ``spec``.

        ``values`` must already be validated against ``spec``.
        """
        if self._closed:
            raise RestifiedError("the engine is closed")
        limit = self.time_limit if time_limit is None else time_limit
        cells = call_cells(spec, values)
        await self._enter()
        try:
            warm = await self._warm_for(name, spec, cwd)
            warm.in_flight += 1
            try:
                return await warm.call(cells, limit)
            finally:
                warm.in_flight -= 1
                warm.last_used = time.monotonic()
                if warm in self._retired and warm.in_flight == 0:
                    self._retired.discard(warm)
                    self._close_later(warm)
        finally:
            await self._leave()

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

    async def _warm_for(self, name: str, spec: NotebookSpec, cwd: str | None) -> WarmNotebook:
        mode = choose_isolation(spec, self.isolation)
        slot = self._slots.setdefault(name, _Slot())
        async with slot.lock:
            warm = slot.warm
            if warm is not None and warm.key == warm_key(spec) and warm.cwd == cwd:
                expected = ForkWarmNotebook if mode == "fork" else FreshWarmNotebook
                if isinstance(warm, expected) and (
                    not isinstance(warm, ForkWarmNotebook) or await warm.healthy()
                ):
                    warm.spec = spec
                    return warm
            # The old version (if any) keeps its kernel until the new one is ready.
            stale, slot.warm = warm, None
            key = warm_key(spec)
            failure = slot.setup_failure
            if (
                failure
                and failure[0] == key
                and time.monotonic() - failure[2] < SETUP_RETRY_SECONDS
            ):
                if stale is not None:
                    await self._retire(stale)
                raise failure[1]
            fresh: WarmNotebook
            if mode == "fork":
                fresh = ForkWarmNotebook(
                    spec,
                    cwd=cwd,
                    kernels=self.kernels,
                    startup_limit=self.startup_limit,
                    copy_limit=self.copy_ahead_limit,
                )
            else:
                fresh = FreshWarmNotebook(
                    spec, cwd=cwd, kernels=self.kernels, startup_limit=self.startup_limit
                )
            try:
                await fresh.start()
            except ExecutionError as exc:
                slot.setup_failure = (key, exc, time.monotonic())
                raise
            finally:
                if stale is not None:
                    await self._retire(stale)
            slot.setup_failure = None
            slot.warm = fresh
        await self._evict(keep=name)
        return fresh

    async def _retire(self, warm: WarmNotebook) -> None:
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
            async with slot.lock:
                if slot.warm is not None:
                    await self._retire(slot.warm)
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
            async with slot.lock:
                if slot.warm is not warm[name]:
                    continue  # changed meanwhile
                await self._retire(warm[name])
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

    def is_warm(self, name: str) -> bool:
        """Whether ``name`` has a warm kernel now."""
        slot = self._slots.get(name)
        return slot is not None and slot.warm is not None

    async def prepare(self, name: str, spec: NotebookSpec, *, cwd: str | None = None) -> None:
        """Make ``name``'s warm kernel ready for ``spec`` ahead of any call."""
        if not self._closed:
            await self._warm_for(name, spec, cwd)

    async def invalidate(self, name: str) -> None:
        """Close the warm kernels of ``name`` (its notebook changed or went away)."""
        slot = self._slots.get(name)
        if slot is None:
            return
        async with slot.lock:
            if slot.warm is not None:
                await self._retire(slot.warm)
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
                    "isolation": _mode(w),
                    "memory_bytes": memory[name],
                    "kernel_pids": w.kernel_pids(),
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
        for slot in self._slots.values():
            if slot.warm is not None:
                await slot.warm.close()
                slot.warm = None
        for warm in list(self._retired):
            await warm.close()
        self._retired.clear()
        await asyncio.gather(*self._closing, return_exceptions=True)
        await self.kernels.close()


__all__ = ["CallResult", "Engine", "runtime"]
