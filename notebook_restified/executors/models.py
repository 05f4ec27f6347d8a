"""Shared parts of the Python API: loading the notebook as last saved, checking values."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import NotFound
from ..parameters import check_json
from ..spec import NotebookSpec, load_spec
from .engine import CallResult


class NotebookFile:
    """A notebook on disk whose spec is re-read whenever the file changes."""

    def __init__(self, notebook: str | os.PathLike[str]) -> None:
        self.path = Path(notebook).expanduser().resolve()
        self._stamp: tuple[int, int] | None = None
        self._spec: NotebookSpec | None = None
        self.load()

    def load(self) -> NotebookSpec:
        """The spec of the notebook as last saved."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            raise NotFound(f"no such notebook: {self.path}") from None
        stamp = (stat.st_mtime_ns, stat.st_size)
        if self._spec is None or stamp != self._stamp:
            self._spec = load_spec(self.path)
            self._stamp = stamp
        return self._spec


def merge_values(
    spec: NotebookSpec, parameters: Mapping[str, Any] | None, keywords: Mapping[str, Any]
) -> dict[str, Any]:
    """Values given as a mapping and as keywords, checked like a JSON body."""
    values = dict(parameters or {})
    values.update(keywords)
    return check_json(spec, values)


class NotebookFunction:
    """A saved notebook called like a function: what :class:`KernelModel` and
    :class:`PythonModel` share. Subclasses run the call."""

    _file: NotebookFile

    @property
    def spec(self) -> NotebookSpec:
        """The function spec of the notebook as last saved."""
        return self._file.load()

    def call(
        self,
        parameters: Mapping[str, Any] | None = None,
        /,
        *,
        time_limit: float | None = None,
        **values: Any,
    ) -> CallResult:
        """Run one call; returns the full :class:`CallResult` (value, PNG, CSV, output)."""
        raise NotImplementedError

    def execute(
        self,
        parameters: Mapping[str, Any] | None = None,
        /,
        *,
        time_limit: float | None = None,
        **values: Any,
    ) -> Any:
        """Run one call and return its value (PNG bytes when the result is an image)."""
        result = self.call(parameters, time_limit=time_limit, **values)
        return result.png if result.kind == "image" else result.value
