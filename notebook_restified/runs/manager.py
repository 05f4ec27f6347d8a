"""The runs of a server: asynchronous runs (``Prefer: respond-async``) in slots of their
own (``run_pool_size``, so long runs never starve synchronous calls) under their own time
limit (``run_time_limit``), with live event logs; records of synchronous calls as
``record_calls`` says; and the records of both, kept by :class:`RunStore`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from typing import Any

from ..engine.observe import CallObserver
from ..engine.plan import call_cell_count, call_cells
from ..errors import (
    Busy,
    CallTimeout,
    NotFinished,
    RestifiedError,
    RetryLater,
    RunCancelled,
    error_from_json,
)
from ..keys import EndpointKey
from ..parameters import json_values
from ..results import CallResult
from ..server.endpoints import EndpointService, SavedNotebook
from ..spec import NotebookSpec
from .executed import build_executed_notebook, cells_from_events
from .model import EventLog, Run, hear_event, new_run_id, now_iso
from .store import RunStore

log = logging.getLogger(__name__)

#: ``record_calls``: which synchronous calls leave a record.
RECORD_CALLS = ("none", "errors", "all")
#: Why a run the server stopped is recorded as failed.
SHUTDOWN_ERROR = {
    "type": "interrupted",
    "message": "the server shut down while the run was in flight; it did not finish",
}


class _Flight:
    """What the manager holds of a run in flight."""

    def __init__(self, run: Run, events: EventLog) -> None:
        self.run = run
        self.events = events
        self.task: asyncio.Task[None] | None = None
        self.stopping: str | None = None  # "cancelled" or "shutdown", once asked
        self.result: CallResult | None = None
        self.holds_place = True  # one of the manager's places, until it leaves its slot


class RunManager:
    """Makes, follows, cancels and records runs of the server's notebooks.

    ``pool_size`` asynchronous runs execute at once (outside the engine's call slots);
    ``queue_size`` more may wait (past it :class:`Busy`): a run holds one of these
    ``pool_size + queue_size`` places from its admission until it leaves its slot (its
    record is written after). ``time_limit`` bounds each.
    ``record_calls``: ``"none"``, ``"errors"`` or ``"all"`` synchronous calls are
    recorded.
    """

    def __init__(
        self,
        service: EndpointService,
        store: RunStore,
        *,
        pool_size: int = 1,
        queue_size: int = 64,
        time_limit: float = 3600.0,
        record_calls: str = "errors",
    ) -> None:
        if record_calls not in RECORD_CALLS:
            raise ValueError(f"record_calls must be one of {RECORD_CALLS}, not {record_calls!r}")
        self.service = service
        self.store = store
        self.pool_size = max(1, pool_size)
        self.queue_size = max(0, queue_size)
        self.time_limit = time_limit
        self.record_calls = record_calls
        self._slots = asyncio.Semaphore(self.pool_size)
        self._flights: dict[str, _Flight] = {}
        # Places taken (runs admitted that have not left their slot yet), counted as a run
        # is admitted, before anything awaits: concurrent submissions cannot overrun it.
        self._places_taken = 0
        self._background: set[asyncio.Task[None]] = set()
        self._closed = False

    # --- asynchronous runs -------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Asynchronous runs in flight: running, and queued (admitted, waiting for a slot);
        a run that is over but still writing its record is neither."""
        running = sum(1 for f in self._flights.values() if f.run.status == "running")
        return {"running": running, "queued": self._places_taken - running}

    def _release(self, flight: _Flight) -> None:
        """Give back the run's place (once): it left its slot, or never got to one."""
        if flight.holds_place:
            flight.holds_place = False
            self._places_taken -= 1

    async def submit(
        self,
        path: str,
        saved: SavedNotebook,
        values: Mapping[str, Any],
        key: EndpointKey | None = None,
    ) -> Run:
        """Queue a run of ``path`` with ``values`` (already checked against
        ``saved.spec``); it starts when one of the runs' slots is free."""
        if self._closed:
            raise RestifiedError("the server is shutting down")
        if self._places_taken >= self.pool_size + self.queue_size:
            raise Busy(
                f"{self.counts()['queued']} runs are waiting; retry later",
                retry_after=max(1, round(self.time_limit / 60)),
            )
        run = Run(
            id=new_run_id(),
            path=path,
            parameters=json_values(values, finite=True),
            notebook_sha256=saved.sha256,
            asynchronous=True,
            key_id=key.id if key else None,
            key_label=key.label if key else None,
        )
        run.progress = {"cell": 0, "cells": call_cell_count(saved.spec, values)}
        flight = _Flight(run, EventLog())
        # The place is taken here, with no await since the check above: a submission
        # arriving while this one writes its record sees it taken.
        self._places_taken += 1
        try:
            await asyncio.to_thread(self.store.save, run)
        except BaseException:
            self._release(flight)
            raise
        flight.events.append("status", {"status": "queued", "created": run.created})
        self._flights[run.id] = flight
        flight.task = asyncio.ensure_future(self._execute(flight, saved, values))
        # A task cancelled before its first step never runs _execute's code: its place is
        # given back when it ends, whatever way it ends.
        flight.task.add_done_callback(lambda _: self._release(flight))
        log.info("run %s of %s queued", run.id, path)
        return run

    async def _execute(
        self, flight: _Flight, saved: SavedNotebook, values: Mapping[str, Any]
    ) -> None:
        run = flight.run
        observer = CallObserver(
            on_event=lambda event: hear_event(run, flight.events, event), record=True
        )
        result: CallResult | None = None
        started = 0.0
        try:
            async with self._slots:
                run.status = "running"
                run.started = now_iso()
                started = time.perf_counter()
                self.store.save(run)
                flight.events.append("status", {"status": "running", "started": run.started})
                result = await self.service.call(
                    run.path,
                    saved.spec,
                    values,
                    observer=observer,
                    time_limit=self.time_limit,
                    pooled=False,
                )
            run.status = "succeeded"
            run.result_kind = result.kind
            run.progress["cell"] = run.progress["cells"]
        except CallTimeout as exc:
            run.status, run.error = "timed_out", exc.to_json()["error"]
        except RestifiedError as exc:
            run.status, run.error = "failed", exc.to_json()["error"]
        except asyncio.CancelledError:
            if flight.stopping == "cancelled":
                run.status = "cancelled"
            else:
                run.status, run.error = "failed", dict(SHUTDOWN_ERROR)
        except Exception as exc:  # a fault of this server, not of the notebook: say so
            log.exception("run %s failed unexpectedly", run.id)
            run.status = "failed"
            run.error = {"type": "internal", "message": f"{type(exc).__name__}: {exc}"}
        # Out of its slot: the place goes to the next submission while the record is written.
        self._release(flight)
        run.duration = time.perf_counter() - started if started else None
        run.finished = now_iso()
        flight.result = result
        try:
            await asyncio.shield(self._finish(flight, saved, values, observer.cells, result))
        except asyncio.CancelledError:  # shut down meanwhile: the record is written anyway
            pass
        finally:
            self._flights.pop(run.id, None)
        log.info("run %s of %s: %s", run.id, run.path, run.status)

    async def _finish(
        self,
        flight: _Flight,
        saved: SavedNotebook,
        values: Mapping[str, Any],
        cells: list[dict[str, Any]] | None,
        result: CallResult | None,
    ) -> None:
        run = flight.run
        flight.events.append("done", run.to_json())
        records = cells if cells is not None else cells_from_events(flight.events.events)
        await self._write_record(run, saved, values, records, result, flight.events)

    async def _write_record(
        self,
        run: Run,
        saved: SavedNotebook,
        values: Mapping[str, Any],
        cells: list[dict[str, Any]] | None,
        result: CallResult | None,
        events: EventLog | None,
    ) -> None:
        logged = events.events if events is not None else None

        def build_and_save() -> None:
            # In a thread: the injected cell of large values takes seconds to render.
            call = call_cells(saved.spec, values)
            injected = call[0]["source"] if values and call else None
            try:
                notebook = build_executed_notebook(
                    saved.content,
                    saved.spec,
                    run,
                    injected_source=injected,
                    cells=cells,
                    result=result,
                    error=run.error,
                )
            except Exception:
                log.exception("the executed notebook of run %s could not be built", run.id)
                notebook = None
            self.store.save_outcome(run, notebook, result, logged)

        try:
            await asyncio.to_thread(build_and_save)
        except OSError:
            log.exception("the record of run %s could not be written", run.id)

    def get(self, run_id: str) -> Run | None:
        """The run with this id (in flight or recorded)."""
        flight = self._flights.get(run_id)
        return flight.run if flight is not None else self.store.get(run_id)

    def find(self, path: str | None = None, key_id: str | None = None) -> list[Run]:
        """Runs of ``path`` (and of key ``key_id``), newest first."""
        return self.store.find(path, key_id)

    def events(self, run_id: str) -> EventLog | None:
        """The run's event log: live while it is in flight, else as recorded (a run
        recorded without events has a log made from its cells' record)."""
        flight = self._flights.get(run_id)
        if flight is not None:
            return flight.events
        run = self.store.get(run_id)
        if run is None:
            return None
        events = self.store.events(run_id)
        if not events or events[-1].event != "done":
            log_ = EventLog()
            for event in events:
                log_.append(event.event, event.data)
            log_.append("done", run.to_json())
            return log_
        return EventLog(events, closed=True)

    async def wait(self, run_id: str, timeout: float | None) -> Run | None:
        """The run once it is over, or as it is after ``timeout`` seconds."""
        flight = self._flights.get(run_id)
        if flight is not None and flight.task is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(flight.task), timeout)
        return self.get(run_id)

    async def cancel(self, run_id: str) -> Run | None:
        """Cancel a queued or running run (its processes are killed) and wait until it is
        recorded as ``cancelled``; a run that is over is left as it is."""
        flight = self._flights.get(run_id)
        if flight is not None and flight.task is not None and not flight.task.done():
            flight.stopping = "cancelled"
            flight.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(flight.task)
        return self.get(run_id)

    def result(self, run: Run) -> CallResult:
        """The result of a run, or the error it ended with (:class:`NotFinished` while it
        runs, :class:`RunCancelled` if it was cancelled)."""
        if not run.done:
            raise NotFinished(f"run {run.id} is {run.status}; its result is not there yet")
        if run.status == "cancelled":
            raise RunCancelled(f"run {run.id} was cancelled: it has no result")
        if run.status != "succeeded":
            raise error_from_json(run.error or {"type": "error", "message": "the run failed"})
        flight = self._flights.get(run.id)
        result = flight.result if flight is not None else self.store.result(run.id)
        if result is None:
            raise RestifiedError(f"the result of run {run.id} was not kept")
        return result

    async def notebook(self, run_id: str) -> bytes | None:
        """The executed notebook of a run that is over, as ``.ipynb`` JSON. A run is over
        (and says so in its events) before its record is written: a run still in flight is
        waited for until its record is."""
        flight = self._flights.get(run_id)
        if flight is not None and flight.task is not None:
            await asyncio.wait({flight.task})  # shielded: a caller leaving stops no run
        return self.store.notebook(run_id)

    # --- synchronous calls -------------------------------------------------------------

    async def call(
        self,
        path: str,
        spec: NotebookSpec,
        values: Mapping[str, Any],
        key: EndpointKey | None = None,
        media: Mapping[str, str | None] | None = None,
    ) -> CallResult:
        """A synchronous call (exactly as the endpoint made it before runs existed),
        recorded as ``record_calls`` says: errors (not a full queue), or every call.
        ``media``: the one form wanted of each kind of result; a call whose result is
        recorded (``all``) encodes every form, as the record keeps them."""
        saved = self.service.saved_for(path, spec) if self.record_calls != "none" else None
        if saved is None:
            return await self.service.call(path, spec, values, media=media)
        if self.record_calls == "all":
            media = None
        # Kept only if it fails: the kernel side makes the per-cell record only then.
        observer = CallObserver(record="errors" if self.record_calls == "errors" else True)
        started_at, started = now_iso(), time.perf_counter()
        try:
            result = await self.service.call(path, spec, values, observer=observer, media=media)
        except RetryLater:
            raise  # nothing ran
        except RestifiedError as exc:
            status = "timed_out" if isinstance(exc, CallTimeout) else "failed"
            self._record_later(
                path,
                saved,
                values,
                key,
                status,
                exc.to_json()["error"],
                observer,
                None,
                started_at,
                started,
            )
            raise
        if self.record_calls == "all":
            self._record_later(
                path, saved, values, key, "succeeded", None, observer, result, started_at, started
            )
        return result

    def _record_later(
        self,
        path: str,
        saved: SavedNotebook,
        values: Mapping[str, Any],
        key: EndpointKey | None,
        status: str,
        error: dict[str, Any] | None,
        observer: CallObserver,
        result: CallResult | None,
        started_at: str,
        started: float,
    ) -> None:
        """Write a synchronous call's record after its answer (nothing of it is made on a
        call's path unless it is recorded)."""
        run = Run(
            id=new_run_id(),
            path=path,
            parameters=json_values(values, finite=True),
            notebook_sha256=saved.sha256,
            asynchronous=False,
            created=started_at,
            started=started_at,
            status=status,
            error=error,
            result_kind=result.kind if result is not None else None,
            duration=time.perf_counter() - started,
            finished=now_iso(),
            key_id=key.id if key else None,
            key_label=key.label if key else None,
        )
        cells = observer.cells
        run.progress = {
            "cell": sum(1 for c in cells or () if c.get("ok")),
            "cells": len(saved.spec.body_cells) + (1 if values else 0),
        }
        task = asyncio.ensure_future(self._write_record(run, saved, values, cells, result, None))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- life -------------------------------------------------------------------------

    def start(self) -> None:
        """Read the records; runs a stopped server left in flight are recorded failed."""
        self.store.load()

    async def close(self) -> None:
        """Stop every run in flight, recording each as failed (the server shut down), and
        finish writing records."""
        self._closed = True
        flights = list(self._flights.values())
        for flight in flights:
            if flight.task is not None and not flight.task.done():
                flight.stopping = "shutdown"
                flight.task.cancel()
        tasks = [f.task for f in flights if f.task is not None]
        await asyncio.gather(*tasks, *self._background, return_exceptions=True)
