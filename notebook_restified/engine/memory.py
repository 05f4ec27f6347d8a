"""Kernel processes and their descendants, read from Linux's /proc: their memory (what the
status route reports and what bounds the warm pool, ``max_pool_memory``), their state, and
the kill of a whole process tree."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..kernelside.processes import stop_and_kill


def _process_table() -> tuple[dict[int, list[int]], dict[int, int]]:
    """Children by parent pid, and resident bytes by pid, of every process /proc shows."""
    parents: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = entry.joinpath("status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pid = int(entry.name)
        parents.setdefault(int(fields.get("PPid", "0").strip() or 0), []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
    return parents, rss


def _tree(roots: Iterable[int], children: Mapping[int, list[int]]) -> list[int]:
    found, stack, seen = [], list(roots), set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def descendants(roots: Iterable[int]) -> list[int]:
    """``roots`` and all their descendants (empty off Linux)."""
    if not Path("/proc").is_dir():
        return []
    children, _ = _process_table()
    return _tree(roots, children)


def process_state(pid: int) -> str | None:
    """Process ``pid``'s state letter (``R``, ``S``, ``T`` for stopped, ...), or ``None``
    where /proc does not show it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # the name, in parentheses, may hold spaces
    return fields[0] if fields else None


def kill_process_tree(pid: int) -> None:
    """Kill process ``pid`` and every process below it, wherever their sessions or process
    groups are (stopped first, so none forks while they are found); off Linux, its process
    group."""
    stop_and_kill(descendants([pid]), lambda: descendants([pid]))
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)  # where /proc shows nothing: at least its group


def process_tree_rss(pids: list[int]) -> int | None:
    """Memory (bytes) of ``pids`` and all their descendants; None off Linux.

    Counted as proportional set size where the kernel reports it, so the pages a fork
    shares with its kernel are not counted twice; else resident size (an upper bound).
    """
    if not Path("/proc").is_dir():
        return None
    children, rss = _process_table()
    return sum(pss(pid, rss.get(pid, 0)) for pid in _tree(pids, children))


def pool_memory(
    warm_pids: Mapping[str, list[int]], spare_pids: list[int]
) -> tuple[dict[str, int | None], int | None]:
    """Memory (bytes, see :func:`process_tree_rss`) of each warm notebook's kernel processes,
    by name, and of the spare kernels."""
    return (
        {name: process_tree_rss(pids) for name, pids in warm_pids.items()},
        process_tree_rss(spare_pids),
    )


def pss(pid: int, fallback: int = 0) -> int:
    """Proportional set size of ``pid`` in bytes (``fallback`` where it cannot be read)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return fallback
