"""Load generation and its statistics: sequential calls (latency, one client), paced calls
(``PACE_S`` apart), ``CONCURRENT_CLIENTS`` clients at once (throughput), each call's value
checked; percentiles and CPU time per call."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .cpu import CpuProbe, CpuSample
from .notebook import NotebookCode
from .settings import CONCURRENT_CLIENTS, PACE_S, Plan


class CallFailed(Exception):
    """A call answered, but not with the expected value."""


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def describe(exc: BaseException) -> str:
    """A short, single-line description of a failed call."""
    return f"{type(exc).__name__}: {exc}"[:400]


@dataclass
class Stats:
    """What one target measured on one notebook."""

    calls: int = 0
    errors: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    mean_ms: float | None = None
    min_ms: float | None = None
    max_ms: float | None = None
    calls_per_s: dict[str, float | None] = field(default_factory=dict)
    """Keyed by the number of concurrent clients."""
    paced_p50_ms: float | None = None
    paced_p95_ms: float | None = None
    """Of sequential calls ``PACE_S`` apart."""
    server_p50_ms: float | None = None
    """Median of the endpoint's own ``X-Restified-Duration`` (the engine's time)."""
    cpu_ms_per_call: float | None = None
    """CPU time of the server and everything it started, per sequential call: unlike
    latency, hardly changed by other processes competing for the CPUs."""
    front_cpu_ms_per_call: float | None = None
    """CPU time per sequential call of the HTTP server's own process (not its kernels)."""
    cpu_ms_per_call_concurrent: float | None = None
    """CPU time of the server and everything it started, per call of the concurrent
    clients (the throughput's cost)."""
    first_error: str | None = None
    note: str | None = None


class Recorder:
    """Checks each call's value and collects latencies and errors."""

    def __init__(self, code: NotebookCode) -> None:
        self.code = code
        self.latencies_ms: list[float] = []
        self.paced_ms: list[float] = []
        self.server_ms: list[float] = []
        self.errors = 0
        self.first_error: str | None = None
        self.rates: dict[str, float | None] = {}
        self.cpu_ms_per_call: float | None = None
        self.front_cpu_ms_per_call: float | None = None
        self.cpu_ms_per_call_concurrent: float | None = None

    def check(self, values: dict[str, Any], value: Any) -> None:
        """Raise CallFailed unless ``value`` is what the notebook gives for ``values``."""
        expected = self.code.expected(values)
        if value != expected:
            raise CallFailed(f"for {values} got {value!r}, expected {expected!r}")

    def cpu_per_call(self, before: CpuSample, after: CpuSample, calls: int) -> None:
        """Record the CPU time per call between two samples."""
        self.cpu_ms_per_call = (after.total - before.total) * 1000 / calls
        if after.front is not None and before.front is not None:
            self.front_cpu_ms_per_call = (after.front - before.front) * 1000 / calls

    def failed(self, exc: BaseException) -> None:
        """Count a failed call."""
        self.errors += 1
        if self.first_error is None:
            self.first_error = describe(exc)

    def stats(self) -> Stats:
        """The summary of everything recorded."""
        lat = self.latencies_ms
        return Stats(
            calls=len(lat),
            errors=self.errors,
            p50_ms=percentile(lat, 50),
            p95_ms=percentile(lat, 95),
            mean_ms=sum(lat) / len(lat) if lat else None,
            min_ms=min(lat) if lat else None,
            max_ms=max(lat) if lat else None,
            calls_per_s=self.rates,
            paced_p50_ms=percentile(self.paced_ms, 50),
            paced_p95_ms=percentile(self.paced_ms, 95),
            server_p50_ms=percentile(self.server_ms, 50),
            cpu_ms_per_call=self.cpu_ms_per_call,
            front_cpu_ms_per_call=self.front_cpu_ms_per_call,
            cpu_ms_per_call_concurrent=self.cpu_ms_per_call_concurrent,
            first_error=self.first_error,
        )


AsyncCall = Callable[[dict[str, Any]], Awaitable[tuple[Any, float | None]]]
SyncCall = Callable[[dict[str, Any]], Any]


async def _one_by_one(
    call: AsyncCall,
    code: NotebookCode,
    count: int,
    rec: Recorder,
    latencies_ms: list[float],
    server_ms: list[float] | None = None,
    pause: float = 0.0,
) -> None:
    """``count`` sequential calls, ``pause`` seconds apart, each checked and timed."""
    for i in range(count):
        if pause:
            await asyncio.sleep(pause)
        values = code.values_for(i)
        t0 = time.perf_counter()
        try:
            value, engine_ms = await call(values)
            rec.check(values, value)
        except Exception as exc:
            rec.failed(exc)
            continue
        latencies_ms.append((time.perf_counter() - t0) * 1000)
        if server_ms is not None and engine_ms is not None:
            server_ms.append(engine_ms)


async def measure_async(
    call: AsyncCall, code: NotebookCode, plan: Plan, cpu: CpuProbe | None = None
) -> Stats:
    """Warm up, then sequential calls (latency, 1 client), then 8 concurrent clients.
    ``cpu`` gives the CPU seconds the server has used so far (for CPU time per call)."""
    rec = Recorder(code)
    for i in range(plan.warmup):
        with contextlib.suppress(Exception):
            await call(code.values_for(i))
    cpu_before = cpu() if cpu else None
    started = time.perf_counter()
    await _one_by_one(call, code, plan.sequential, rec, rec.latencies_ms, rec.server_ms)
    rec.rates["1"] = plan.sequential / (time.perf_counter() - started)
    if cpu and cpu_before is not None:
        rec.cpu_per_call(cpu_before, cpu(), plan.sequential)
    await _one_by_one(call, code, plan.paced, rec, rec.paced_ms, pause=PACE_S)

    next_index = 0

    async def client() -> None:
        nonlocal next_index
        while next_index < plan.concurrent:
            values = code.values_for(next_index)
            next_index += 1
            try:
                value, _ = await call(values)
                rec.check(values, value)
            except Exception as exc:
                rec.failed(exc)

    cpu_before = cpu() if cpu else None
    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CONCURRENT_CLIENTS)))
    rec.rates[str(CONCURRENT_CLIENTS)] = plan.concurrent / (time.perf_counter() - started)
    if cpu and cpu_before is not None:
        # The last children may still be exiting: their CPU counts once they are reaped.
        await asyncio.sleep(0.5)
        spent = cpu().total - cpu_before.total
        rec.cpu_ms_per_call_concurrent = spent * 1000 / max(1, plan.concurrent)
    return rec.stats()


def measure_sequential_sync(
    call: SyncCall, code: NotebookCode, plan: Plan, rec: Recorder, cpu: CpuProbe | None = None
) -> None:
    """The sequential part of a measurement, for targets driven from a thread."""
    for i in range(plan.warmup):
        with contextlib.suppress(Exception):
            call(code.values_for(i))
    cpu_before = cpu() if cpu else None
    started = time.perf_counter()
    for i in range(plan.sequential):
        values = code.values_for(i)
        t0 = time.perf_counter()
        try:
            rec.check(values, call(values))
        except Exception as exc:
            rec.failed(exc)
            continue
        rec.latencies_ms.append((time.perf_counter() - t0) * 1000)
    rec.rates["1"] = plan.sequential / (time.perf_counter() - started)
    if cpu and cpu_before is not None:
        rec.cpu_per_call(cpu_before, cpu(), plan.sequential)
