"""The endpoint's service: notebooks from the contents manager, calls through the engine.

No tornado here: handlers translate HTTP to these calls and domain errors to statuses.
"""

from __future__ import annotations

import logging
import os
import posixpath
from collections.abc import Mapping
from typing import Any

from jupyter_core.utils import ensure_async
from tornado.web import HTTPError

from .errors import NotFound
from .executors.engine import CallResult, Engine
from .spec import NotebookSpec, load_spec

log = logging.getLogger(__name__)


def normalize_path(path: str) -> str:
    """The API path of a notebook, as in ``/lab/tree/<path>``; refuses what cannot be one."""
    path = path.strip("/")
    parts = path.split("/")
    if not path or any(part in ("", ".", "..") for part in parts) or "\\" in path or "\0" in path:
        raise NotFound(f"no such notebook: {path!r}")
    return posixpath.join(*parts)


class EndpointService:
    """Loads saved notebooks through a contents manager and runs calls on an engine."""

    def __init__(self, contents_manager: Any, engine: Engine) -> None:
        self.contents_manager = contents_manager
        self.engine = engine

    async def load(self, path: str) -> NotebookSpec:
        """The spec of the notebook at ``path`` as last saved (404 for anything else)."""
        path = normalize_path(path)
        if not path.endswith(".ipynb"):
            raise NotFound(f"{path} is not a notebook (.ipynb)")
        cm = self.contents_manager
        try:
            if await ensure_async(cm.dir_exists(path)) or not await ensure_async(
                cm.file_exists(path)
            ):
                raise NotFound(f"no such notebook: {path}")
            model = await ensure_async(cm.get(path, content=True, type="notebook"))
        except HTTPError as exc:
            # Outside the root, hidden, unreadable: all the same to a caller.
            log.info("contents manager refused %s: %s", path, exc.log_message)
            raise NotFound(f"no such notebook: {path}") from None
        return load_spec(model["content"])

    def working_directory(self, path: str) -> str | None:
        """Where the notebook's kernel starts: its own directory, as in JupyterLab."""
        root = getattr(self.contents_manager, "root_dir", None)
        if not root:
            return None
        directory = os.path.join(root, *posixpath.dirname(normalize_path(path)).split("/"))
        return directory if os.path.isdir(directory) else root

    async def call(self, path: str, spec: NotebookSpec, values: Mapping[str, Any]) -> CallResult:
        """Run one call of the notebook at ``path`` (values already checked)."""
        path = normalize_path(path)
        return await self.engine.call(path, spec, values, cwd=self.working_directory(path))
