"""A run: one call of a notebook kept as a record — asynchronous (``Prefer:
respond-async``, :meth:`KernelModel.submit`) or a synchronous call recorded as
``record_calls`` says. Its states, its JSON (the run object of the API), and its event log
(what the events stream replays).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

#: 32 lowercase hex digits.
_RUN_ID = re.compile(r"[0-9a-f]{32}")

#: Every status a run may have, in order of the life of a run.
STATUSES = ("queued", "running", "succeeded", "failed", "cancelled", "timed_out")
#: The statuses of a run that is over.
FINISHED = frozenset({"succeeded", "failed", "cancelled", "timed_out"})
#: The error fields a key holder sees of a failed run without ``key_tracebacks`` (the
#: traceback quotes the notebook's code; stdout and stderr are its author's).
KEY_HOLDER_ERROR_FIELDS = ("type", "message", "cell_index", "ename", "evalue", "time_limit")


def now_iso() -> str:
    """The current time, ISO 8601 in UTC with milliseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def notebook_sha256(content: Mapping[str, Any]) -> str:
    """The SHA-256 of a notebook's content as JSON (keys sorted, no spaces): what a run
    records of the notebook it ran."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def new_run_id() -> str:
    """An unguessable run id (128 random bits, hex)."""
    return secrets.token_hex(16)


def is_run_id(text: str) -> bool:
    """Whether ``text`` can be a run id (as :func:`new_run_id` makes them)."""
    return _RUN_ID.fullmatch(text) is not None


@dataclass
class Run:
    """One run, as kept on disk and shown (through :meth:`public`) by the API."""

    id: str
    path: str
    parameters: dict[str, Any]
    notebook_sha256: str
    asynchronous: bool
    created: str = field(default_factory=now_iso)
    status: str = "queued"
    started: str | None = None
    finished: str | None = None
    progress: dict[str, int] = field(default_factory=lambda: {"cell": 0, "cells": 0})
    error: dict[str, Any] | None = None
    result_kind: str | None = None
    """``json``, ``table`` or ``image`` once it succeeded."""
    duration: float | None = None
    """Seconds the call's cells ran (None until it is over)."""
    key_id: str | None = None
    """The endpoint key that made the run (None: a server user)."""
    key_label: str | None = None

    @property
    def done(self) -> bool:
        """Whether the run is over (whatever its outcome)."""
        return self.status in FINISHED

    def to_json(self) -> dict[str, Any]:
        """Everything kept on disk."""
        return {
            "id": self.id,
            "path": self.path,
            "status": self.status,
            "asynchronous": self.asynchronous,
            "parameters": self.parameters,
            "notebook_sha256": self.notebook_sha256,
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
            "duration": self.duration,
            "progress": dict(self.progress),
            "error": self.error,
            "result_kind": self.result_kind,
            "key_id": self.key_id,
            "key_label": self.key_label,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Run:
        """A run read back from :meth:`to_json`."""
        return cls(
            id=str(data["id"]),
            path=str(data["path"]),
            parameters=dict(data.get("parameters") or {}),
            notebook_sha256=str(data.get("notebook_sha256", "")),
            asynchronous=bool(data.get("asynchronous", True)),
            created=str(data.get("created") or now_iso()),
            status=str(data.get("status", "failed")),
            started=data.get("started"),
            finished=data.get("finished"),
            progress=dict(data.get("progress") or {"cell": 0, "cells": 0}),
            error=data.get("error"),
            result_kind=data.get("result_kind"),
            duration=data.get("duration"),
            key_id=data.get("key_id"),
            key_label=data.get("key_label"),
        )

    def public(self, links: Mapping[str, str], *, full_errors: bool = True) -> dict[str, Any]:
        """The run object of the API, with its ``links``. Without ``full_errors`` (a key
        holder without ``key_tracebacks``) the error keeps only
        :data:`KEY_HOLDER_ERROR_FIELDS` and who made the run is not shown."""
        body = self.to_json()
        del body["key_id"], body["key_label"]
        if full_errors:
            body["key"] = {"id": self.key_id, "label": self.key_label} if self.key_id else None
        elif self.error is not None:
            body["error"] = {k: v for k, v in self.error.items() if k in KEY_HOLDER_ERROR_FIELDS}
        body["links"] = dict(links)
        return body


@dataclass(frozen=True)
class RunEvent:
    """One event of a run's stream: ``id`` counts from 1; ``event`` is ``status``,
    ``cell``, ``output`` or ``done``."""

    id: int
    event: str
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """As kept on disk."""
        return {"id": self.id, "event": self.event, "data": self.data}


class EventLog:
    """The events of one run, in order, for any number of readers, each from any point.

    Written on one thread (the event loop); read there with :meth:`wait_beyond` or from any
    thread with :meth:`wait_beyond_blocking`. Closed after the ``done`` event.
    """

    def __init__(self, events: list[RunEvent] | None = None, closed: bool = False) -> None:
        self.events: list[RunEvent] = list(events or [])
        self.closed = closed
        self._changed = asyncio.Event() if not closed else None
        self._condition = threading.Condition()

    def append(self, event: str, data: dict[str, Any]) -> RunEvent:
        """Add an event (``done`` closes the log)."""
        with self._condition:
            item = RunEvent(len(self.events) + 1, event, data)
            self.events.append(item)
            if event == "done":
                self.closed = True
            self._condition.notify_all()
        if self._changed is not None:
            self._changed.set()
            self._changed = asyncio.Event() if not self.closed else None
        return item

    def since(self, last_id: int) -> list[RunEvent]:
        """The events after id ``last_id``."""
        with self._condition:
            return self.events[max(0, last_id) :]

    async def wait_beyond(self, last_id: int, timeout: float) -> None:
        """Return once there is an event after ``last_id``, the log is closed, or
        ``timeout`` seconds passed."""
        changed = self._changed
        if changed is None or len(self.events) > last_id or self.closed:
            return
        try:
            await asyncio.wait_for(changed.wait(), timeout)
        except asyncio.TimeoutError:
            return

    def wait_beyond_blocking(self, last_id: int, timeout: float | None) -> None:
        """:meth:`wait_beyond` for another thread."""
        with self._condition:
            self._condition.wait_for(
                lambda: len(self.events) > last_id or self.closed, timeout=timeout
            )

    def wait_closed(self, timeout: float | None) -> bool:
        """Block (another thread than the writer's) until the log is closed or ``timeout``
        seconds passed; whether it is closed."""
        with self._condition:
            return self._condition.wait_for(lambda: self.closed, timeout=timeout)

    def iterate(self, last_id: int = 0) -> Iterator[RunEvent]:
        """Every event after ``last_id``, blocking for each until the log is closed (for
        another thread than the one writing)."""
        while True:
            fresh = self.since(last_id)
            for item in fresh:
                last_id = item.id
                yield item
            if self.closed and not self.since(last_id):
                return
            self.wait_beyond_blocking(last_id, timeout=1.0)


def hear_event(run: Run, events: EventLog, event: Mapping[str, Any]) -> None:
    """An event of a run's call (see ``kernelside/trace.py``): into its event log, and
    into its progress (``cell``: how many of its ``cells`` have finished)."""
    kind = event.get("kind")
    data = {k: v for k, v in event.items() if k != "kind"}
    if kind == "cell":
        if data.get("state") == "finished":
            run.progress["cell"] = int(data.get("position", 0)) + 1
        events.append("cell", data)
    elif kind == "output":
        events.append("output", data)
