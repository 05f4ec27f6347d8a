"""Every endpoint under a directory: the notebooks with a ``parameters`` or ``return`` cell,
each with its title, description and parameters.

Pure: files only, no kernel. Each notebook is read once per modification (stamp: mtime and
size); listing again costs one ``scandir`` per directory and one ``stat`` per notebook.
Hidden files and directories (a leading dot) are never listed.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from .describe import describe_notebook, form_fields
from .errors import RestifiedError
from .spec import load_spec
from .tags import TAG_PARAMETERS, TAG_RETURN

__all__ = ["EndpointsIndex"]

log = logging.getLogger(__name__)

_ENDPOINT_TAGS = frozenset({TAG_PARAMETERS, TAG_RETURN})


def _tagged(nb: Any) -> bool:
    for cell in nb.get("cells") or []:
        tags = (cell.get("metadata") or {}).get("tags") or []
        if isinstance(tags, list) and _ENDPOINT_TAGS.intersection(
            t for t in tags if isinstance(t, str)
        ):
            return True
    return False


def read_entry(full: str, path: str) -> dict[str, Any] | None:
    """The index entry of the notebook file ``full`` (API path ``path``), or ``None`` when it
    has no endpoint (no tag) or cannot be read."""
    try:
        with open(full, encoding="utf-8") as file:
            nb = json.load(file)
    except (OSError, ValueError) as exc:
        log.debug("not listing %s: %s", path, exc)
        return None
    if not isinstance(nb, dict) or not _tagged(nb):
        return None
    title, description = describe_notebook(nb, path)
    entry: dict[str, Any] = {"path": path, "title": title, "description": description}
    try:
        spec = load_spec(nb)
    except RestifiedError as exc:  # tagged, but the tags make no function: listed with why
        entry.update(parameters=[], error=exc.message)
    else:
        entry["parameters"] = form_fields(spec)
    return entry


@dataclass
class EndpointsIndex:
    """The endpoints under ``root``, cached per file by modification stamp."""

    root: str
    max_files: int = 100_000
    _cache: dict[str, tuple[tuple[int, int], dict[str, Any] | None]] = field(
        default_factory=dict, repr=False
    )

    def list(self) -> list[dict[str, Any]]:
        """The endpoints, sorted by path."""
        seen: dict[str, tuple[tuple[int, int], dict[str, Any] | None]] = {}
        directories = [""]
        files = 0
        while directories and files < self.max_files:
            relative = directories.pop()
            try:
                entries = list(os.scandir(os.path.join(self.root, relative)))
            except OSError:
                continue
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                path = f"{relative}/{entry.name}" if relative else entry.name
                try:
                    if entry.is_dir(follow_symlinks=False):
                        directories.append(path)
                        continue
                    if not entry.name.endswith(".ipynb") or not entry.is_file():
                        continue
                    stat = entry.stat()
                except OSError:
                    continue
                files += 1
                stamp = (stat.st_mtime_ns, stat.st_size)
                cached = self._cache.get(path)
                seen[path] = (
                    cached
                    if cached is not None and cached[0] == stamp
                    else (stamp, read_entry(entry.path, path))
                )
        self._cache = seen  # deleted notebooks leave the cache
        return [e for _, (_, e) in sorted(seen.items()) if e is not None]
