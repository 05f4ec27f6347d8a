""":meth:`KernelModel.submit`: a run in the model's own kernels, followed from any thread."""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Iterator, Mapping
from typing import Any

from ..engine import Engine
from ..engine.observe import CallObserver
from ..engine.plan import call_cells
from ..errors import CallTimeout, RestifiedError, RunCancelled
from ..parameters import json_values
from ..results import CallResult
from ..spec import NotebookSpec
from .handle import RunHandle
from .model import EventLog, Run, RunEvent, hear_event, new_run_id, now_iso


class LocalRun(RunHandle):
    """A run of a :class:`~notebook_restified.KernelModel`, executing on the model's event
    loop (``loop``) through its ``engine``; see :class:`RunHandle`."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        engine: Engine,
        *,
        path: str,
        spec: NotebookSpec,
        values: Mapping[str, Any],
        sha256: str,
        cwd: str | None,
        time_limit: float,
    ) -> None:
        self.id = new_run_id()
        self.run = Run(
            id=self.id,
            path=path,
            parameters=json_values(values, finite=True),
            notebook_sha256=sha256,
            asynchronous=True,
        )
        self.run.progress = {"cell": 0, "cells": len(call_cells(spec, values))}
        self.log = EventLog()
        self.log.append("status", {"status": "queued", "created": self.run.created})
        self._loop = loop
        self._future: concurrent.futures.Future[CallResult] = asyncio.run_coroutine_threadsafe(
            self._execute(engine, spec, values, cwd, time_limit), loop
        )

    async def _execute(
        self,
        engine: Engine,
        spec: NotebookSpec,
        values: Mapping[str, Any],
        cwd: str | None,
        time_limit: float,
    ) -> CallResult:
        run = self.run
        observer = CallObserver(on_event=lambda event: hear_event(run, self.log, event))
        started = time.perf_counter()
        run.status, run.started = "running", now_iso()
        self.log.append("status", {"status": "running", "started": run.started})
        try:
            result = await engine.call(
                run.path, spec, values, cwd=cwd, time_limit=time_limit, observer=observer
            )
            run.status, run.result_kind = "succeeded", result.kind
            run.progress["cell"] = run.progress["cells"]
            return result
        except CallTimeout as exc:
            run.status, run.error = "timed_out", exc.to_json()["error"]
            raise
        except RestifiedError as exc:
            run.status, run.error = "failed", exc.to_json()["error"]
            raise
        except asyncio.CancelledError:
            run.status = "cancelled"
            raise
        finally:
            run.duration = time.perf_counter() - started
            run.finished = now_iso()
            self.log.append("done", run.to_json())

    @property
    def status(self) -> str:
        """Where the run is now."""
        return self.run.status

    @property
    def progress(self) -> dict[str, int]:
        """``{"cell": cells finished, "cells": cells the call runs}``."""
        return dict(self.run.progress)

    def result(self, timeout: float | None = None) -> CallResult:
        """The full result once the run ends (see :class:`RunHandle`)."""
        try:
            return self._future.result(timeout)
        except concurrent.futures.CancelledError:
            raise RunCancelled(f"run {self.id} was cancelled: it has no result") from None
        except concurrent.futures.TimeoutError:
            raise TimeoutError(f"run {self.id} is still {self.status}") from None

    def cancel(self) -> None:
        """Stop the run and wait (a few seconds at most) until its processes are gone."""
        if not self._future.cancel():
            return  # over already
        self.log.wait_closed(timeout=0.5)
        if not self.log.closed and self.run.status == "queued":
            # Cancelled before the loop took it: it never started, and never will.
            self.run.status, self.run.finished = "cancelled", now_iso()
            self.log.append("done", self.run.to_json())
        self.log.wait_closed(timeout=30)

    def events(self, after: int = 0) -> Iterator[RunEvent]:
        """The run's events (see :class:`RunHandle`)."""
        return self.log.iterate(after)
