"""CPU time: of a server's process tree (for CPU time per call, which other processes
competing for the CPUs hardly change), and of the whole machine (how busy other processes
kept it, before, during and after a run)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .processes import living_descendants, stat_fields
from .settings import QUIET_CPUS

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds used so far: in all, and by the HTTP server process alone."""

    total: float
    front: float | None = None


CpuProbe = Callable[[], CpuSample]


def _cpu_ticks(pid: int, reaped: bool) -> int:
    """utime + stime of ``pid`` (+ cutime + cstime of the children it reaped)."""
    fields = stat_fields(pid)
    try:
        return sum(int(v) for v in (fields or [])[11 : 15 if reaped else 13])
    except ValueError:
        return 0


def tree_cpu(root: int) -> CpuSample:
    """CPU time used so far by ``root`` with its living descendants and the children they
    reaped (total), and by ``root``'s own process (front)."""
    ticks = sum(_cpu_ticks(pid, reaped=True) for pid in [root, *living_descendants(root)])
    return CpuSample(ticks / CLOCK_TICKS, _cpu_ticks(root, reaped=False) / CLOCK_TICKS)


@dataclass(frozen=True)
class LoadSample:
    """Busy and total CPU seconds of the machine, and CPU seconds of this process and of the
    children it reaped (which include the servers, their kernels and the kernels' forks)."""

    busy: float
    total: float
    ours: float

    @classmethod
    def take(cls) -> LoadSample:
        """Now (/proc/stat counts every CPU; divided back into seconds of wall time)."""
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        cpus = len(os.sched_getaffinity(0))
        return cls(
            (sum(values) - idle) / CLOCK_TICKS,
            sum(values) / CLOCK_TICKS / cpus,
            sum(os.times()[:4]),
        )

    def others_since(self, earlier: LoadSample) -> float:
        """CPUs kept busy on average by processes not started by this one."""
        wall = max(1e-9, self.total - earlier.total)
        return round(max(0.0, (self.busy - earlier.busy) - (self.ours - earlier.ours)) / wall, 2)


def busy_cpus(seconds: float = 2.0) -> float | None:
    """How many CPUs other processes kept busy over ``seconds`` (from /proc/stat)."""
    try:
        before = LoadSample.take()
        time.sleep(seconds)
        return LoadSample.take().others_since(before)
    except (OSError, ValueError, IndexError):
        return None


def wait_quiet(limit: float, threshold: float = QUIET_CPUS) -> None:
    """Wait (at most ``limit`` seconds) until other processes use less than ``threshold`` CPUs."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        busy = busy_cpus()
        if busy is None or busy < threshold:
            return
        print(f"  waiting for a quiet machine: {busy} CPUs busy with other processes", flush=True)
        time.sleep(5)
