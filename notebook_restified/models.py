"""The Python API: a saved notebook called like a function.

- :class:`KernelModel` runs each call isolated in Jupyter kernels, through the same engine
  as the HTTP endpoint.
- :class:`PythonModel` runs calls in this very process (for ipywidgets View notebooks).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
import weakref
from collections.abc import Coroutine, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from .engine import Engine
from .engine.plan import call_cells, setup_cells
from .errors import CallTimeout, NotFound
from .kernelside.runner import run_request
from .parameters import check_json, merge_once
from .results import CallResult
from .runs.handle import RunHandle
from .spec import NotebookSpec, load_spec

#: Seconds a submitted run may take unless ``submit`` is told otherwise.
RUN_TIME_LIMIT = 3600.0


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
    """Values given as a mapping and as keywords, checked like a JSON body; a name given in
    both is an error (:class:`~notebook_restified.errors.InvalidParameters`), as a
    parameter given twice is everywhere."""
    return check_json(spec, merge_once(parameters or {}, keywords))


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


T = TypeVar("T")


def _stop_engine(loop: asyncio.AbstractEventLoop, thread: threading.Thread, engine: Engine) -> None:
    """Stop a KernelModel's engine (every process it started) and its loop's thread.

    The model's finalizer: it runs once, on ``close()`` or when the model is garbage, and
    holds no reference to the model itself.
    """
    if thread is threading.current_thread():
        # Dropped by code running in its own loop: that loop cannot be waited for here.
        loop.create_task(engine.close()).add_done_callback(lambda _: loop.stop())
        return
    try:
        if thread.is_alive():
            asyncio.run_coroutine_threadsafe(engine.close(), loop).result()
        else:  # its thread is gone (interpreter shutdown): run the loop here
            loop.run_until_complete(engine.close())
    finally:
        if thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
        if not loop.is_running():
            loop.close()


class KernelModel(NotebookFunction):
    """Call a tagged notebook like a function; each call runs isolated in a Jupyter kernel.

    >>> with KernelModel("examples/fibonacci.ipynb") as model:  # doctest: +SKIP
    ...     model.execute({"n": 10})
    55

    The first call starts a kernel and runs the setup cells (those before ``parameters``);
    later calls start from that state, each in a fresh fork (Python) or a fresh pre-started
    kernel (``isolation="kernel"``, or other languages). The notebook is re-read when it
    changes on disk. ``close()`` (or the ``with`` block's end) stops every kernel it
    started; a model that is never closed does so when it is garbage collected. Errors raise
    :class:`~notebook_restified.errors.ExecutionError`,
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
        # Stops the engine once: on close(), or when the model is garbage.
        self._finalizer = weakref.finalize(
            self, _stop_engine, self._loop, self._thread, self._engine
        )

    async def _make_engine(self, isolation: str) -> Engine:
        return Engine(pool_size=1, queue_size=64, time_limit=self.time_limit, isolation=isolation)

    @property
    def _closed(self) -> bool:
        return not self._finalizer.alive

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
        return self.call_checked(
            spec, merge_values(spec, parameters, values), time_limit=time_limit
        )

    def call_checked(
        self, spec: NotebookSpec, values: Mapping[str, Any], *, time_limit: float | None = None
    ) -> CallResult:
        """Run one call with ``values`` already checked against ``spec`` (what
        :func:`~notebook_restified.parameters.check_json` and
        :func:`~notebook_restified.parameters.coerce_query` return), as the CLI does."""
        if self._closed:
            raise RuntimeError("this KernelModel is closed")
        return self._run(
            self._engine.call(self.path, spec, values, cwd=self.cwd, time_limit=time_limit)
        )

    def submit(
        self,
        parameters: Mapping[str, Any] | None = None,
        /,
        *,
        time_limit: float | None = None,
        **values: Any,
    ) -> RunHandle:
        """Start a run and return at once with its handle (``status``, ``wait()``,
        ``cancel()``, ``events()``: progress and output as it runs). It takes the model's
        call slot like a call, for up to ``time_limit`` seconds (default an hour)."""
        if self._closed:
            raise RuntimeError("this KernelModel is closed")
        from .runs.local import LocalRun
        from .runs.model import notebook_sha256

        spec = self.spec
        checked = merge_values(spec, parameters, values)
        content = json.loads(self._file.path.read_text("utf-8"))
        return LocalRun(
            self._loop,
            self._engine,
            path=self.path,
            spec=spec,
            values=checked,
            sha256=notebook_sha256(content),
            cwd=self.cwd,
            time_limit=RUN_TIME_LIMIT if time_limit is None else time_limit,
        )

    def kernel_pids(self) -> list[int]:
        """Pids of the kernels this model keeps (empty once closed)."""
        return [] if self._closed else self._engine.kernel_pids()

    def close(self) -> None:
        """Stop every kernel this model started (at most once)."""
        self._finalizer()

    def __enter__(self) -> KernelModel:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _Deadline(BaseException):
    restified_passthrough = True


@contextmanager
def _time_limit(seconds: float | None) -> Any:
    # A timer signal can only interrupt the main thread; elsewhere the call runs unbounded.
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise _Deadline

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class PythonModel(NotebookFunction):
    """Call a tagged notebook like a function, in the current Python process.

    Meant for ipywidgets View notebooks: no kernel to start, so calls are as fast as the
    code. Each call gets a fresh namespace (seeded with a copy of ``globals`` if given) and
    runs setup, parameters, injected values, body and return cell; IPython magics work when
    an IPython shell is running. Module-level state (``sys.modules``, the working directory)
    is the process's own: use :class:`KernelModel` where calls must be fully isolated.
    ``time_limit`` applies when calls are made from the main thread.
    """

    def __init__(
        self,
        notebook: str | os.PathLike[str],
        *,
        globals: Mapping[str, Any] | None = None,
        time_limit: float | None = None,
    ) -> None:
        self._file = NotebookFile(notebook)
        self._globals = dict(globals or {})
        self.time_limit = time_limit

    def call(
        self,
        parameters: Mapping[str, Any] | None = None,
        /,
        *,
        time_limit: float | None = None,
        **values: Any,
    ) -> CallResult:
        """Run one call; returns the full :class:`CallResult`."""
        spec = self.spec
        checked = merge_values(spec, parameters, values)
        namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
        namespace.update(self._globals)
        cells = setup_cells(spec) + call_cells(spec, checked)
        shell = _shell()
        limit = self.time_limit if time_limit is None else time_limit
        started = time.perf_counter()
        try:
            with _time_limit(limit):
                reply = run_request({"cells": cells}, namespace, shell)
        except _Deadline:
            raise CallTimeout(time_limit=limit or 0.0) from None
        return CallResult.from_reply(reply, time.perf_counter() - started)


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()
