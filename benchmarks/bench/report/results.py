"""What one run found, row by row (one row per contender); written as JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..harness.load import Stats


@dataclass
class Row:
    """One way of running a notebook per request, on both notebooks."""

    key: str
    label: str
    notebooks: dict[str, Stats] = field(default_factory=dict)
    skipped: str | None = None


@dataclass
class Report:
    """Everything one run found; written as JSON."""

    machine: dict[str, Any]
    settings: dict[str, Any]
    rows: dict[str, Row] = field(default_factory=dict)
    kernel_start_ms: list[float] = field(default_factory=list)
    setup_ms: dict[str, float] = field(default_factory=dict)
    """The setup (and parameters) cells' own time, in a kernel that just started."""
    first_call_after_save_ms: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    memory: dict[str, Any] = field(default_factory=dict)
    pool_status: dict[str, Any] = field(default_factory=dict)
    fork_stats: dict[str, Any] = field(default_factory=dict)
    """The fork server's counts per notebook right after its calls were measured."""
    server_start_s: dict[str, float] = field(default_factory=dict)
    other_load: dict[str, float | None] = field(default_factory=dict)
    """CPUs kept busy by other processes, sampled before and after the run."""
    leftover_processes: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    goals: list[dict[str, Any]] = field(default_factory=list)
    duration_s: float = 0.0

    def row(self, key: str, label: str) -> Row:
        """The row ``key``, made on first use."""
        return self.rows.setdefault(key, Row(key, label))
