"""KernelModel: a notebook as a Python function, run in Jupyter kernels."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine, Mapping
from types import TracebackType
from typing import Any, TypeVar

from .engine import CallResult, Engine
from .models import NotebookFile, NotebookFunction, merge_values

T = TypeVar("T")


class KernelModel(NotebookFunction):
    """Call a tagged notebook like a function; each call runs isolated in a Jupyter kernel.

    >>> with KernelModel("examples/fibonacci.ipynb") as model:  # doctest: +SKIP
    ...     model.execute({"n": 10})
    55

    The first call starts a kernel and runs the setup cells (those before ``parameters``);
    later calls start from that state, each in a fresh fork (Python) or a fresh pre-started
    kernel (``isolation="kernel"``, or other languages). The notebook is re-read when it
    changes on disk. Errors raise :class:`~notebook_restified.errors.ExecutionError`,
    :class:`~notebook_restified.errors.CallTimeout`,
    :class:`~notebook_restified.errors.KernelDied` or
    :class:`~notebook_restified.errors.InvalidParameters`.
    """

    def __init__(
        self,
        notebook: str | os.PathLike[str],
        *,
        time_limit: float = 30.0,
        isolation: str = "fork",
        cwd: str | os.PathLike[str] | None = None,
    ) -> None:
        self._file = NotebookFile(notebook)
        self.time_limit = time_limit
        self.cwd = str(cwd) if cwd is not None else str(self._file.path.parent)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="restified-kernel-model", daemon=True
        )
        self._thread.start()
        self._engine = self._run(self._make_engine(isolation))
        self._closed = False

    async def _make_engine(self, isolation: str) -> Engine:
        return Engine(pool_size=1, queue_size=64, time_limit=self.time_limit, isolation=isolation)

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    @property
    def path(self) -> str:
        """The notebook's absolute path."""
        return str(self._file.path)

    def call(
        self,
        parameters: Mapping[str, Any] | None = None,
        /,
        *,
        time_limit: float | None = None,
        **values: Any,
    ) -> CallResult:
        """Run one call; returns the full :class:`CallResult` (value, PNG, CSV, output)."""
        if self._closed:
            raise RuntimeError("this KernelModel is closed")
        spec = self.spec
        checked = merge_values(spec, parameters, values)
        return self._run(
            self._engine.call(self.path, spec, checked, cwd=self.cwd, time_limit=time_limit)
        )

    def kernel_pids(self) -> list[int]:
        """Pids of the kernels this model keeps (empty once closed)."""
        return [] if self._closed else self._engine.kernel_pids()

    def close(self) -> None:
        """Stop every kernel this model started."""
        if self._closed:
            return
        self._closed = True
        try:
            self._run(self._engine.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()

    def __enter__(self) -> KernelModel:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
