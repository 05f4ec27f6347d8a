"""The machine the numbers were measured on."""

from __future__ import annotations

import contextlib
import os
import platform
from importlib.metadata import version
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem_kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
    packages = {}
    for name in ("jupyter_server", "jupyter_client", "ipykernel", "papermill", "pandas", "tornado"):
        with contextlib.suppress(Exception):
            packages[name] = version(name)
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "memory_gib": round(mem_kb / 1024**2, 1) if mem_kb else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": packages,
    }
