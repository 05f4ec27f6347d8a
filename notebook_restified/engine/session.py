"""One Jupyter kernel process and the execute requests sent to it."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from queue import Empty
from typing import Any

from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import ensure_async

from ..errors import CallTimeout, ExecutionError, KernelDied, RestifiedError
from ..kernelside.processes import private_directory
from .memory import kill_process_tree

log = logging.getLogger(__name__)

# Seconds a kernel may take to answer once started, unless its session is told otherwise.
STARTUP_TIMEOUT = 60.0


@dataclass
class ExecuteOutcome:
    """What one execute request produced."""

    reply: dict[str, Any]
    outputs: list[dict[str, Any]] = field(default_factory=list)


class KernelSession:
    """A kernel started through jupyter_client, with a router for its replies.

    ``kernel_manager`` may be given (``remote``: a gateway's, for a kernel on another
    machine); otherwise a local ``AsyncKernelManager`` for ``kernel_name`` is made, from
    ``kernel_spec_manager``'s kernel specs if given.
    """

    def __init__(
        self,
        kernel_name: str,
        cwd: str | None = None,
        kernel_manager: AsyncKernelManager | None = None,
        kernel_spec_manager: KernelSpecManager | None = None,
        remote: bool = False,
        startup_limit: float = STARTUP_TIMEOUT,
        owner: set[KernelSession] | None = None,
    ) -> None:
        self.kernel_name = kernel_name
        # The set of live sessions this one belongs to (its source's): in it until shut down.
        self._owner = owner
        if owner is not None:
            owner.add(self)
        self.startup_limit = startup_limit
        self.cwd = cwd
        self.kernel_spec_manager = kernel_spec_manager
        self._ipc_dir: str | None = None
        if kernel_manager is None:
            # Local kernels talk over Unix sockets in a private directory, not TCP ports.
            self._ipc_dir = private_directory("ipc")
            options: dict[str, Any] = {}
            if kernel_spec_manager is not None:  # the server's: its kernels, its allow-list
                options["kernel_spec_manager"] = kernel_spec_manager
            kernel_manager = AsyncKernelManager(
                kernel_name=kernel_name,
                transport="ipc",
                ip=os.path.join(self._ipc_dir, "kernel"),
                **options,
            )
        self.manager = kernel_manager
        self.remote = remote
        self.client: Any = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._outputs: dict[str, list[dict[str, Any]]] = {}
        # msg_id -> (listener of its iopub messages, set when its kernel is idle again)
        self._listeners: dict[str, tuple[Callable[[dict[str, Any]], None], asyncio.Event]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def pid(self) -> int | None:
        """The kernel's process id, when it runs locally."""
        provisioner = getattr(self.manager, "provisioner", None)
        process = getattr(provisioner, "process", None)
        return getattr(process, "pid", None)

    async def start(self) -> None:
        """Start the kernel and wait until it answers."""
        kwargs: dict[str, Any] = {}
        if self.cwd:
            kwargs["cwd"] = self.cwd
        if self.remote:
            kwargs["kernel_name"] = self.kernel_name  # a gateway's manager asks for it by name
        try:
            # The kernels the server lists (its allow-list applied), not any on the disk.
            listed = self.kernel_spec_manager
            if listed is not None and self.kernel_name not in listed.find_kernel_specs():
                raise NoSuchKernel(self.kernel_name)
            # Shielded: cancelled while a kernel is being started (a gateway's POST in
            # flight), the start is let finish so that the kernel it made can be stopped;
            # otherwise a gateway would keep a kernel nobody knows of.
            starting = asyncio.ensure_future(self.manager.start_kernel(**kwargs))
            try:
                await asyncio.shield(starting)
            except asyncio.CancelledError:
                await asyncio.wait({starting}, timeout=self.startup_limit)
                if not starting.done():
                    starting.cancel()
                elif not starting.cancelled():
                    starting.exception()  # seen: a failed start needs no report here
                await self.shutdown()
                raise
        except Exception as exc:  # not installed, its command missing, its provisioner failed
            await self.shutdown()
            reason = "no such kernel is available here" if isinstance(exc, NoSuchKernel) else exc
            raise KernelDied(f"kernel {self.kernel_name!r} did not start: {reason}") from exc
        self.client = self.manager.client()
        await ensure_async(self.client.start_channels())  # a gateway client's is a coroutine
        try:
            await self.client.wait_for_ready(timeout=self.startup_limit)
        except RuntimeError as exc:
            await self.shutdown()
            raise KernelDied(f"kernel {self.kernel_name!r} did not start: {exc}") from exc
        self._tasks = [
            asyncio.ensure_future(self._route_shell()),
            asyncio.ensure_future(self._route_iopub()),
        ]

    async def _route_shell(self) -> None:
        while True:
            try:
                msg = await self.client.get_shell_msg(timeout=1)
            except Empty:
                continue
            except (asyncio.CancelledError, Exception):
                return
            parent = msg.get("parent_header", {}).get("msg_id")
            future = self._pending.pop(parent, None)
            if future is not None and not future.done():
                future.set_result(msg)

    async def _route_iopub(self) -> None:
        while True:
            try:
                msg = await self.client.get_iopub_msg(timeout=1)
            except Empty:
                continue
            except (asyncio.CancelledError, Exception):
                return
            parent = msg.get("parent_header", {}).get("msg_id")
            listener = self._listeners.get(parent)
            if listener is not None:
                if msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle":
                    listener[1].set()
                else:
                    try:
                        listener[0](msg)
                    except Exception:
                        log.exception("an iopub listener failed")
            outputs = self._outputs.get(parent)
            if outputs is not None and msg["msg_type"] in (
                "execute_result",
                "display_data",
                "stream",
                "error",
            ):
                outputs.append({"msg_type": msg["msg_type"], **msg["content"]})

    async def is_alive(self) -> bool:
        """Whether the kernel process is still running."""
        return bool(await self.manager.is_alive())

    async def execute(
        self,
        code: str,
        *,
        timeout: float | None,
        silent: bool = True,
        user_expressions: dict[str, str] | None = None,
        collect_outputs: bool = False,
        on_iopub: Callable[[dict[str, Any]], None] | None = None,
    ) -> ExecuteOutcome:
        """Send one execute request and wait for its reply.

        ``on_iopub`` hears every iopub message of the request, each before the reply is
        returned (the wait for the kernel's idle status is bounded by a second).
        Raises ``CallTimeout`` past ``timeout`` (the kernel is left to the caller, who
        discards it) and ``KernelDied`` if the kernel process goes away meanwhile.
        """
        msg_id = self.client.execute(
            code,
            silent=silent,
            store_history=False,
            user_expressions=user_expressions or {},
            allow_stdin=False,
        )
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        outputs: list[dict[str, Any]] = []
        if collect_outputs:
            self._outputs[msg_id] = outputs
        idle = asyncio.Event()
        if on_iopub is not None:
            self._listeners[msg_id] = (on_iopub, idle)
        deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
        try:
            while True:
                wait = 0.5
                if deadline is not None:
                    wait = min(wait, deadline - asyncio.get_running_loop().time())
                    if wait <= 0:
                        raise CallTimeout(time_limit=timeout or 0.0)
                done, _ = await asyncio.wait({future}, timeout=wait)
                if done:
                    break
                if not await self.is_alive():
                    raise KernelDied("the kernel process died during the call")
            reply = future.result()
            if on_iopub is not None:
                # iopub may trail the shell reply: its messages end with the idle status.
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(idle.wait(), 1.0)
            if collect_outputs:
                # Outputs of a request arrive on iopub up to its idle status; give them a beat.
                await asyncio.sleep(0.01)
            return ExecuteOutcome(reply=reply["content"], outputs=outputs)
        finally:
            self._pending.pop(msg_id, None)
            self._outputs.pop(msg_id, None)
            self._listeners.pop(msg_id, None)

    async def evaluate_json(self, expression: str, timeout: float | None) -> Any:
        """Evaluate a Python expression in the kernel that gives JSON text; decode it."""
        outcome = await self.execute("", timeout=timeout, user_expressions={"value": expression})
        return expression_json(outcome, "value")

    async def shutdown(self) -> None:
        """Stop the kernel now; nothing is left running."""
        for task in self._tasks:
            task.cancel()
        for future in self._pending.values():
            if not future.done():
                future.cancel()
        self._pending.clear()
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.stop_channels()
        if self.manager.has_kernel and self.pid and not self.remote:
            # What the kernel started goes with it, even in a session of its own.
            kill_process_tree(self.pid)
        if self.manager.has_kernel:
            # Shielded: a caller cancelled mid-way must not leave the kernel running.
            stop = asyncio.ensure_future(self.manager.shutdown_kernel(now=True))
            try:
                await asyncio.shield(stop)
            except asyncio.CancelledError:
                await asyncio.wait({stop})
                raise
            except Exception:
                log.warning("stopping kernel %s failed", self.kernel_name, exc_info=True)
        if self._ipc_dir is not None:
            shutil.rmtree(self._ipc_dir, ignore_errors=True)
        if self._owner is not None:
            self._owner.discard(self)


async def claim(task: asyncio.Future[KernelSession]) -> KernelSession:
    """The session ``task`` starts (a kernel started ahead of time). Cancelled meanwhile, the
    caller never drops a started kernel: one still starting stops itself (its start is
    cancelled), one already started is shut down here."""
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await stop_started(task)
        raise


async def stop_started(task: asyncio.Future[KernelSession]) -> None:
    """Cancel ``task`` (it makes a session) and stop the kernel it made, if any. A task told
    to cancel may still end with its session (cancellation swallowed on the way, as Python
    3.11's ``asyncio.wait_for`` does when its work finishes in the same turn): that kernel
    is stopped here rather than dropped."""
    task.cancel()
    await asyncio.wait({task})
    if not task.cancelled() and task.exception() is None:
        await task.result().shutdown()


def expression_json(outcome: ExecuteOutcome, name: str) -> Any:
    """The JSON text a user expression ``name`` of an execute request evaluated to, decoded."""
    reply = outcome.reply
    if reply.get("status") != "ok":
        raise ExecutionError(
            f"{reply.get('ename')}: {reply.get('evalue')}",
            cell_index=None,
            cell_id=None,
            ename=str(reply.get("ename", "")),
            evalue=str(reply.get("evalue", "")),
            traceback=reply.get("traceback", []),
        )
    value = reply.get("user_expressions", {}).get(name, {})
    if value.get("status") != "ok":
        raise RestifiedError(
            f"the kernel could not report the result: {value.get('ename')}: {value.get('evalue')}"
        )
    return json.loads(ast.literal_eval(value["data"]["text/plain"]))
