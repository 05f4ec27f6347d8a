"""A run as the Python API hands it out: :meth:`KernelModel.submit` (a run in this
process's kernels) and :meth:`notebook_restified.client.Endpoint.submit` (a run on a
server) both return a :class:`RunHandle`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..results import CallResult
from .model import RunEvent


class RunHandle:
    """A run that goes on while its caller does something else.

    ``status`` is one of ``queued``, ``running``, ``succeeded``, ``failed``,
    ``cancelled``, ``timed_out``. :meth:`wait` returns the value (as ``execute`` does) or
    raises the run's error (the same exception classes as a call:
    :class:`~notebook_restified.errors.ExecutionError`,
    :class:`~notebook_restified.errors.CallTimeout`, ...;
    :class:`~notebook_restified.errors.RunCancelled` once cancelled).
    """

    id: str

    @property
    def status(self) -> str:
        """Where the run is now."""
        raise NotImplementedError

    @property
    def progress(self) -> dict[str, int]:
        """``{"cell": cells finished, "cells": cells the call runs}``."""
        raise NotImplementedError

    def result(self, timeout: float | None = None) -> CallResult:
        """Wait up to ``timeout`` seconds (None: for ever) for the run to end; its full
        result, or its error raised. :class:`TimeoutError` if it has not ended by then."""
        raise NotImplementedError

    def wait(self, timeout: float | None = None) -> Any:
        """As :meth:`result`, but the value (PNG bytes when the result is an image)."""
        result = self.result(timeout)
        return result.png if result.kind == "image" else result.value

    def cancel(self) -> None:
        """Stop the run (its processes are killed); its status becomes ``cancelled``. A
        run that has ended is left as it is."""
        raise NotImplementedError

    def events(self, after: int = 0) -> Iterator[RunEvent]:
        """The run's events from the start (or after event id ``after``), as they come,
        until the last, ``done``: ``status``, ``cell`` (``{"position", "index", "id",
        "state": "started" | "finished", "at", "seconds", "ok"}``), ``output``
        (``{"stream", "text"}``) and ``done`` (the run object)."""
        raise NotImplementedError

    @property
    def done(self) -> bool:
        """Whether the run has ended."""
        return self.status not in ("queued", "running")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} {self.status}>"
