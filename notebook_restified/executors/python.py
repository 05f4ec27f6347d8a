"""PythonModel: a notebook as a function run in this very process (for View notebooks)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Mapping
from contextlib import contextmanager
from typing import Any

from ..errors import CallTimeout
from . import runtime
from .engine import CallResult, call_cells, setup_cells
from .models import NotebookFile, NotebookFunction, merge_values


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
                reply = runtime.run_request({"cells": cells}, namespace, shell)
        except _Deadline:
            raise CallTimeout(time_limit=limit or 0.0) from None
        return CallResult.from_reply(reply, time.perf_counter() - started)


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()
