"""Build real notebooks for tests, and inspect the processes they leave behind."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from notebook_restified.engine.housekeeping import process_alive

Cell = str | tuple[str, list[str]]


def write_notebook(path: Path, *cells: Cell, kernel: str = "python3") -> Path:
    """Write a notebook whose cells are ``source`` or ``(source, tags)``; markdown if it
    starts with ``# md``."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for cell in cells:
        source, tags = (cell, []) if isinstance(cell, str) else cell
        if source.startswith("# md"):
            nb.cells.append(new_markdown_cell(source[4:].strip(), metadata={"tags": tags}))
        else:
            nb.cells.append(new_code_cell(source, metadata={"tags": tags}))
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def descendants(pid: int | None = None) -> set[int]:
    """Pids of every living (non-zombie) process below ``pid`` (default: this process)."""
    root = os.getpid() if pid is None else pid
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        if fields.get("State", "").startswith("Z"):
            continue
        children.setdefault(int(fields.get("PPid", "0")), []).append(int(entry))
    found: set[int] = set()
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


# Whether a pid is a running process (any of its threads not a zombie): the engine's own test.
alive = process_alive
