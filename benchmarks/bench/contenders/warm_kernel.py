"""The floor: one warm kernel that ran the setup, each call one silent execute request in
place (no isolation, no HTTP); 8 clients are 8 requests kept in flight. Also a kernel's
start to ready. Blocking APIs, so driven from a thread."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import json
import time
from pathlib import Path
from queue import Empty
from typing import Any

from jupyter_client.manager import KernelManager

from ..harness.cpu import CpuSample, tree_cpu
from ..harness.load import Recorder, Stats, measure_sequential_sync
from ..harness.notebook import NotebookCode
from ..harness.settings import CONCURRENT_CLIENTS, HTTP_TIMEOUT, READY_TIMEOUT, Plan, Settings
from ..report.results import Row
from .base import Contender, Context


class WarmKernel:
    """One kernel that ran the setup; each call is one silent execute request in place."""

    def __init__(self, code: NotebookCode, cwd: Path) -> None:
        self.code = code
        self.manager = KernelManager(kernel_name="python3")
        started = time.perf_counter()
        self.manager.start_kernel(cwd=str(cwd))
        self.client = self.manager.blocking_client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=READY_TIMEOUT)
        self.start_s = time.perf_counter() - started
        started = time.perf_counter()
        self._wait(self._send(code.setup + "\n" + code.parameters_source, {}))
        self.setup_s = time.perf_counter() - started

    def _send(self, code: str, expressions: dict[str, str]) -> str:
        return str(
            self.client.execute(
                code, silent=True, store_history=False, user_expressions=expressions
            )
        )

    def _reply(self) -> dict[str, Any]:
        msg: dict[str, Any] = self.client.get_shell_msg(timeout=HTTP_TIMEOUT)
        return msg

    def _wait(self, msg_id: str) -> dict[str, Any]:
        for _ in range(1000):
            msg = self._reply()
            if msg["parent_header"].get("msg_id") == msg_id:
                return self._check(msg)
        raise RuntimeError("no reply to the execute request")

    @staticmethod
    def _check(msg: dict[str, Any]) -> dict[str, Any]:
        content: dict[str, Any] = msg["content"]
        if content["status"] != "ok":
            raise RuntimeError(f"{content.get('ename')}: {content.get('evalue')}")
        return content

    def _request(self, values: dict[str, Any]) -> str:
        source = (
            self.code.assignments(values)
            + self.code.body
            + f"\n_bench_json = __import__('json').dumps({self.code.result_expr})\n"
        )
        return self._send(source, {"result": "_bench_json"})

    @staticmethod
    def _value(content: dict[str, Any]) -> Any:
        return json.loads(
            ast.literal_eval(content["user_expressions"]["result"]["data"]["text/plain"])
        )

    def call(self, values: dict[str, Any]) -> Any:
        """One call: send, wait for the reply, decode the result."""
        return self._value(self._wait(self._request(values)))

    def pipelined(self, calls: int, in_flight: int, rec: Recorder) -> float:
        """Calls per second with ``in_flight`` requests outstanding at all times."""
        pending: dict[str, dict[str, Any]] = {}
        sent = done = 0
        started = time.perf_counter()
        while done < calls:
            while sent < calls and len(pending) < in_flight:
                values = self.code.values_for(sent)
                pending[self._request(values)] = values
                sent += 1
            msg = self._reply()
            values = pending.pop(msg["parent_header"].get("msg_id"), {})
            if not values:
                continue
            done += 1
            try:
                rec.check(values, self._value(self._check(msg)))
            except Exception as exc:
                rec.failed(exc)
        return calls / (time.perf_counter() - started)

    def cpu(self) -> CpuSample:
        """CPU time of the kernel (and what it started)."""
        pid = self.manager.provisioner.process.pid  # type: ignore[union-attr]
        return CpuSample(tree_cpu(pid).total)

    def drain_iopub(self) -> None:
        """Drop the status messages nobody reads."""
        with contextlib.suppress(Empty):
            for _ in range(100_000):
                self.client.get_iopub_msg(timeout=0.01)

    def close(self) -> None:
        """Stop the kernel."""
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


def kernel_start_times(count: int, cwd: Path) -> list[float]:
    """Seconds from starting a kernel to its answering a kernel_info request."""
    times = []
    for _ in range(count):
        manager = KernelManager(kernel_name="python3")
        started = time.perf_counter()
        manager.start_kernel(cwd=str(cwd))
        client = manager.blocking_client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=READY_TIMEOUT)
            times.append(time.perf_counter() - started)
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
    return times


def measure_warm_kernel(
    code: NotebookCode, plan: Plan, cwd: Path
) -> tuple[Stats, dict[str, float]]:
    """The floor: sequential calls, then 8 requests kept in flight on the one kernel."""
    kernel = WarmKernel(code, cwd)
    try:
        rec = Recorder(code)
        measure_sequential_sync(kernel.call, code, plan, rec, kernel.cpu)
        kernel.drain_iopub()
        rec.rates[str(CONCURRENT_CLIENTS)] = kernel.pipelined(
            plan.concurrent, CONCURRENT_CLIENTS, rec
        )
        kernel.drain_iopub()
        stats = rec.stats()
        stats.note = f"{CONCURRENT_CLIENTS} clients = {CONCURRENT_CLIENTS} requests in flight"
        return stats, {"start_s": kernel.start_s, "setup_s": kernel.setup_s}
    finally:
        kernel.close()


async def measure_kernel_starts(ctx: Context) -> None:
    """Kernel start to ready, ``kernel_starts`` times, into the report."""
    print("  kernel start to ready", flush=True)
    starts = await asyncio.to_thread(kernel_start_times, ctx.settings.kernel_starts, ctx.root)
    ctx.report.kernel_start_ms += [s * 1000 for s in starts]


class WarmKernelFloor(Contender):
    """A warm kernel per notebook, the code sent in one execute request."""

    key = "warm_kernel"

    def label(self, settings: Settings) -> str:
        """What it is."""
        return "warm kernel, 1 execute (floor)"

    async def measure(self, ctx: Context, row: Row) -> None:
        """Each notebook in a kernel of its own; its start and setup times go in the report."""
        for code in ctx.codes:
            print(f"  {row.label}: {code.name}", flush=True)
            stats, times = await asyncio.to_thread(
                measure_warm_kernel, code, ctx.settings.fast, ctx.root
            )
            row.notebooks[code.name] = stats
            ctx.report.setup_ms[code.name] = times["setup_s"] * 1000
            ctx.report.kernel_start_ms.append(times["start_s"] * 1000)
