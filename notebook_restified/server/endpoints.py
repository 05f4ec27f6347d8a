"""The notebooks behind the endpoints: loaded through the contents manager (never a path
outside the root), their specs cached by modification stamp,
re-warmed when saved, and calls passed to the engine. No handler code here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import posixpath
import stat
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jupyter_core.paths import is_file_hidden
from jupyter_core.utils import ensure_async
from jupyter_server.services.contents.fileio import AsyncFileManagerMixin, FileManagerMixin
from tornado.web import HTTPError

from ..endpoints_index import index_entry
from ..engine import Engine
from ..engine.observe import CallObserver
from ..errors import InvalidNotebook, NotFound, RestifiedError
from ..results import CallResult
from ..runs.model import notebook_sha256
from ..spec import NotebookSpec, load_spec

log = logging.getLogger(__name__)


def normalize_path(path: str) -> str:
    """The API path of a notebook, as in ``/lab/tree/<path>``; refuses what cannot be one."""
    path = path.strip("/")
    parts = path.split("/")
    if not path or any(part in ("", ".", "..") for part in parts) or "\\" in path or "\0" in path:
        raise NotFound(f"no such notebook: {path!r}")
    return posixpath.join(*parts)


@dataclass(frozen=True)
class SavedNotebook:
    """A notebook as last saved: its spec, its cells and metadata (outputs left out: a run
    makes its own) and the SHA-256 of its content (canonical JSON: keys sorted, no spaces)."""

    spec: NotebookSpec
    content: dict[str, Any]
    sha256: str

    @classmethod
    def from_content(cls, content: Mapping[str, Any], spec: NotebookSpec) -> SavedNotebook:
        """Of the notebook ``content`` (as the contents manager gives it) read as ``spec``."""
        cells = [
            {k: ([] if k == "outputs" else v) for k, v in cell.items()}
            for cell in content.get("cells", [])
        ]
        return cls(
            spec=spec,
            content={**json.loads(json.dumps(dict(content), default=str)), "cells": cells},
            sha256=notebook_sha256(content),
        )


class EndpointService:
    """Loads saved notebooks through a contents manager and runs calls on an engine."""

    spec_cache_size = 256

    def __init__(self, contents_manager: Any, engine: Engine) -> None:
        self.contents_manager = contents_manager
        self.engine = engine
        # path -> ((last_modified, size), saved): reading and validating a notebook costs
        # milliseconds per call; its modification stamp costs a stat.
        self._specs: OrderedDict[str, tuple[tuple[Any, Any], SavedNotebook]] = OrderedDict()
        self._background: set[asyncio.Task[None]] = set()

    async def load(self, path: str) -> NotebookSpec:
        """The spec of the notebook at ``path`` as last saved (404 for anything else)."""
        return (await self.load_saved(path)).spec

    def saved_for(self, path: str, spec: NotebookSpec) -> SavedNotebook | None:
        """The saved notebook that ``spec`` (from :meth:`load`) was read from, if cached."""
        cached = self._specs.get(normalize_path(path))
        return cached[1] if cached is not None and cached[1].spec is spec else None

    async def stat(self, path: str) -> dict[str, Any]:
        """The contents manager's model of the notebook at ``path``, without its content:
        one stat-like call (404 for a missing file, a directory, a hidden or outside-root
        path, or anything not a ``.ipynb``)."""
        path = normalize_path(path)
        if not path.endswith(".ipynb"):
            raise NotFound(f"{path} is not a notebook (.ipynb)")
        try:
            return dict(
                await ensure_async(self.contents_manager.get(path, content=False, type="notebook"))
            )
        except HTTPError as exc:
            # Outside the root, hidden, not there: all the same to a caller.
            log.info("contents manager refused %s: %s", path, exc.log_message)
            raise NotFound(f"no such notebook: {path}") from None

    async def load_saved(self, path: str) -> SavedNotebook:
        """The notebook at ``path`` as last saved, with its spec (404 for anything else)."""
        path = normalize_path(path)
        stat = await self.stat(path)
        cm = self.contents_manager
        stamp = (stat.get("last_modified"), stat.get("size"))
        cached = self._specs.get(path)
        if cached is not None and cached[0] == stamp and stamp[0] is not None:
            self._specs.move_to_end(path)
            return cached[1]
        try:
            model = await ensure_async(cm.get(path, content=True, type="notebook"))
        except HTTPError as exc:
            log.info("contents manager could not read %s: %s", path, exc.log_message)
            if exc.status_code == 400:  # there, but not a notebook it can read
                # (Its message names the file on the server's disk: logged, not answered.)
                raise InvalidNotebook(
                    f"{path} cannot be read as a notebook (not valid notebook JSON)"
                ) from None
            raise NotFound(f"no such notebook: {path}") from None
        spec = load_spec(model["content"])
        saved = SavedNotebook.from_content(model["content"], spec)
        self._specs[path] = ((model.get("last_modified"), model.get("size")), saved)
        while len(self._specs) > self.spec_cache_size:
            self._specs.popitem(last=False)
        return saved

    def warmup_state(self, path: str, spec: NotebookSpec) -> dict[str, Any] | None:
        """The declared warm-up's state in the kernel serving this version of the notebook
        (see :meth:`Engine.warmup_state`)."""
        return self.engine.warmup_state(normalize_path(path), spec)

    def working_directory(self, path: str) -> str | None:
        """Where the notebook's kernel starts: its own directory, as in JupyterLab."""
        root = getattr(self.contents_manager, "root_dir", None)
        if not root:
            return None
        directory = os.path.join(root, *posixpath.dirname(normalize_path(path)).split("/"))
        return directory if os.path.isdir(directory) else root

    def watch_saves(self) -> None:
        """Re-warm a warm notebook as soon as it is saved, so its next call is fast."""
        register = getattr(self.contents_manager, "register_post_save_hook", None)
        if callable(register):
            register(self._saved)

    def _saved(self, model: dict[str, Any], **_: Any) -> None:
        path = str(model.get("path") or "")
        if not path.endswith(".ipynb") or not self.engine.is_warm(normalize_path(path)):
            return
        task = asyncio.ensure_future(self._rewarm(path))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _rewarm(self, path: str) -> None:
        try:
            spec = await self.load(path)
            await self.engine.prepare(normalize_path(path), spec, cwd=self.working_directory(path))
        except RestifiedError as exc:  # the next call reports it to its caller
            log.info("not re-warming %s after save: %s", path, exc)
        except Exception:
            log.exception("re-warming %s after save failed", path)

    async def close(self) -> None:
        """Wait for background re-warming to end, then stop the engine."""
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.engine.close()

    async def call(
        self,
        path: str,
        spec: NotebookSpec,
        values: Mapping[str, Any],
        *,
        observer: CallObserver | None = None,
        time_limit: float | None = None,
        pooled: bool = True,
        media: Mapping[str, str | None] | None = None,
    ) -> CallResult:
        """Run one call of the notebook at ``path`` (values already checked); see
        :meth:`Engine.call` for ``observer``, ``time_limit``, ``pooled`` and ``media``."""
        path = normalize_path(path)
        return await self.engine.call(
            path,
            spec,
            values,
            cwd=self.working_directory(path),
            time_limit=time_limit,
            observer=observer,
            pooled=pooled,
            media=media,
        )


#: A notebook's stamp in the index: what changes when it is saved.
Stamp = tuple[Any, Any]


def _scan_root(cm: Any, max_files: int) -> dict[str, Stamp]:
    """Every notebook a file-backed contents manager would list under its root, with its
    stamp (mtime, size): its own rules (``should_list``: ``hide_globs``; hidden files unless
    ``allow_hidden``), without a model per file. Symbolic links to directories are not
    followed; names with a leading dot are never listed."""
    found: dict[str, Stamp] = {}
    directories = [""]
    while directories and len(found) < max_files:
        relative = directories.pop()
        try:
            entries = list(os.scandir(os.path.join(cm.root_dir, *relative.split("/"))))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if name.startswith(".") or not cm.should_list(name):
                continue
            path = f"{relative}/{name}" if relative else name
            try:
                st = entry.stat(follow_symlinks=False)
                if not cm.allow_hidden and is_file_hidden(entry.path, stat_res=st):
                    continue
                if stat.S_ISDIR(st.st_mode):
                    directories.append(path)
                elif name.endswith(".ipynb") and entry.is_file():
                    found[path] = (st.st_mtime_ns, st.st_size)
            except OSError:
                continue
    return found


class EndpointsIndex:
    """The endpoints the server's contents manager shows (hidden files and ``hide_globs``
    left out, its root and no further), each notebook read through it once per change
    (cached by modification stamp); no kernel is started.

    A file-backed manager (``FileContentsManager`` and its subclasses) is walked with
    ``scandir`` in a thread under its own listing rules: asking it for a model of each of
    thousands of files costs about a millisecond each. Any other manager is asked for
    each directory's listing."""

    def __init__(self, contents_manager: Any, max_files: int = 100_000) -> None:
        self.contents_manager = contents_manager
        self.max_files = max_files
        self._cache: dict[str, tuple[Stamp, dict[str, Any] | None]] = {}
        self._lock = asyncio.Lock()

    @property
    def file_backed(self) -> bool:
        """Whether the contents manager serves files under ``root_dir``."""
        return isinstance(self.contents_manager, (FileManagerMixin, AsyncFileManagerMixin))

    async def endpoints(self) -> list[dict[str, Any]]:
        """The endpoints, sorted by path (one listing at a time: concurrent callers wait
        for it and share its reads)."""
        async with self._lock:
            if self.file_backed:
                stamps = await asyncio.to_thread(_scan_root, self.contents_manager, self.max_files)
            else:
                stamps = await self._list_models()
            seen: dict[str, tuple[Stamp, dict[str, Any] | None]] = {}
            for path, stamp in stamps.items():
                cached = self._cache.get(path)
                if cached is not None and cached[0] == stamp and stamp[0] is not None:
                    seen[path] = cached
                else:
                    seen[path] = (stamp, await self._read(path))
            self._cache = seen  # deleted notebooks leave the cache
            return [entry for _, (_, entry) in sorted(seen.items()) if entry is not None]

    async def _list_models(self) -> dict[str, Stamp]:
        """The notebooks and their stamps from the contents manager's directory models."""
        cm = self.contents_manager
        found: dict[str, Stamp] = {}
        directories = [""]
        while directories and len(found) < self.max_files:
            directory = directories.pop()
            try:
                model = await ensure_async(cm.get(directory, content=True, type="directory"))
            except HTTPError as exc:
                log.debug("not listing %r: %s", directory, exc.log_message)
                continue
            for child in model.get("content") or []:
                name, path = str(child.get("name", "")), str(child.get("path", ""))
                if not name or name.startswith("."):
                    continue
                if child.get("type") == "directory":
                    directories.append(path)
                elif child.get("type") == "notebook" and name.endswith(".ipynb"):
                    found[path] = (child.get("last_modified"), child.get("size"))
        return found

    async def _read(self, path: str) -> dict[str, Any] | None:
        try:
            model = await ensure_async(
                self.contents_manager.get(path, content=True, type="notebook")
            )
        except HTTPError as exc:  # not valid notebook JSON, gone meanwhile: not listed
            log.debug("not listing %s: %s", path, exc.log_message)
            return None
        return index_entry(model.get("content"), path)
