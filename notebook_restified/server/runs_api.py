"""``/api/restified/runs``: the runs of the server's notebooks — asynchronous calls
(``Prefer: respond-async`` on ``/restified/<path>``) and recorded calls.

- ``GET /api/restified/runs?path=<path>&limit=<n>``: recent runs, newest first.
- ``GET /api/restified/runs/<id>``: the run object; ``DELETE``: cancel it.
- ``GET .../runs/<id>/result``: its result, negotiated as a call's (or its error).
- ``GET .../runs/<id>/events``: Server-Sent Events (``status``, ``cell``, ``output``,
  ``done``), replayed from the start or from ``Last-Event-ID``; ends after ``done``.
- ``GET .../runs/<id>/notebook``: the executed notebook (``.ipynb``).

The server's users see every run; an endpoint key holder only the runs made with that key
(others are 404), without the executed notebook, the output events or error details unless
``key_tracebacks`` allows them. A key holder's every request here counts against the key's
``key_rate_limit`` as a call does, and may carry the key in the query only on a GET.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jupyter_server.auth.decorator import allow_unauthenticated
from tornado.iostream import StreamClosedError

from ..errors import (
    InvalidParameters,
    KeyRefused,
    NotAcceptable,
    NotFinished,
    NotFound,
    RestifiedError,
    error_from_json,
)
from ..keys import EndpointKey, KeyStore, RateLimiter, split_secret
from ..results import CallResult
from ..runs.manager import RunManager
from ..runs.model import KEY_HOLDER_ERROR_FIELDS, Run, is_run_id
from ..spec import NotebookSpec
from .auth import authorize_user, in_header, presented_key, refuse_misplaced_key
from .base import RestifiedHandler, log
from .endpoints import normalize_path
from .requests import OFFERS, negotiate

#: A run id in a route: any one path segment, so that an id that cannot be a run's gets
#: the contract's JSON 404 from the route (as an unknown id does), not the server's page.
RUN_ID = r"(?P<run_id>[^/]+)"
#: Seconds a client is told to wait before asking about a run again.
RETRY_AFTER = 1
#: The longest ``wait=`` honoured (seconds).
MAX_WAIT = 300.0
#: Seconds between keep-alive comments on a quiet event stream.
KEEPALIVE = 15.0

_PREFERENCE = re.compile(r"\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*(?:=\s*(\"[^\"]*\"|[^;,\s]*))?")


@dataclass(frozen=True)
class Preference:
    """What a request's ``Prefer`` headers ask of a call (RFC 7240)."""

    respond_async: bool = False
    wait: float | None = None


def parse_prefer(values: list[str]) -> Preference:
    """The ``respond-async`` and ``wait=N`` preferences of the ``Prefer`` header lines."""
    respond_async, wait = False, None
    for value in values:
        # Preferences are separated by commas; a wait given as a parameter of respond-async
        # (``respond-async; wait=5``) is taken as meant.
        for item in re.split(r"[,;]", value):
            match = _PREFERENCE.match(item)
            if not match:
                continue
            name, argument = match.group(1).lower(), (match.group(2) or "").strip('"')
            if name == "respond-async":
                respond_async = True
            elif name == "wait":
                try:
                    wait = max(0.0, min(float(argument), MAX_WAIT))
                except ValueError:
                    continue
    return Preference(respond_async, wait)


class RunsAccess:
    """The runs manager with who may see what: handed to the call route (``Prefer``) and
    to every runs route. ``key_tracebacks``: whether key holders see error details, the
    output and the executed notebook of their runs; ``limiter``: the keys' rate, which
    keyed requests of the runs routes count against as calls do."""

    def __init__(
        self, manager: RunManager, keys: KeyStore, key_tracebacks: bool, limiter: RateLimiter
    ) -> None:
        self.manager = manager
        self.keys = keys
        self.key_tracebacks = key_tracebacks
        self.limiter = limiter

    def full_view(self, key: EndpointKey | None) -> bool:
        """Whether the caller sees everything of a run (a server user, or a key holder
        where ``key_tracebacks`` allows)."""
        return key is None or self.key_tracebacks


def run_links(handler: RestifiedHandler, run: Run, full: bool) -> dict[str, str]:
    """The URLs of a run's routes (no ``notebook`` for a caller who may not read it)."""
    base = (
        f"{handler.request.protocol}://{handler.request.host}"
        f"{handler.base_url.rstrip('/')}/api/restified/runs/{run.id}"
    )
    links = {"self": base, "result": f"{base}/result", "events": f"{base}/events"}
    if full:
        links["notebook"] = f"{base}/notebook"
    return links


def render_run(handler: RestifiedHandler, run: Run, full: bool) -> dict[str, Any]:
    """The run object a caller sees."""
    return run.public(run_links(handler, run, full), full_errors=full)


def visible_error(exc: RestifiedError, full: bool) -> RestifiedError:
    """``exc`` as a caller sees it: whole, or (a key holder without ``key_tracebacks``)
    with the fields of :data:`KEY_HOLDER_ERROR_FIELDS` and a request's own ``details``."""
    if full:
        return exc
    fields = {*KEY_HOLDER_ERROR_FIELDS, "details", "retry_after"}
    kept = {k: v for k, v in exc.to_json()["error"].items() if k in fields}
    return error_from_json(kept, exc.status)


def result_for(access: RunsAccess, run: Run, key: EndpointKey | None) -> CallResult:
    """The run's result, or its error as this caller may see it."""
    try:
        return access.manager.result(run)
    except RestifiedError as exc:
        raise visible_error(exc, access.full_view(key)) from None


def respond_result(handler: RestifiedHandler, result: CallResult, accept: str | None) -> None:
    """Answer with a call's result as ``Accept`` prefers: JSON, PNG or CSV (406 if none)."""
    offers = OFFERS.get(result.kind, OFFERS["json"])
    media = negotiate(accept, offers)
    if media is None:
        raise NotAcceptable(
            f"this result is {', '.join(offers)}; Accept: {accept} allows none of it"
        )
    handler.set_header("X-Restified-Duration", f"{result.duration * 1000:.1f}ms")
    if media == "image/png":
        handler.finish(result.png or b"", set_content_type="image/png")
    elif media == "text/csv":
        handler.finish(result.csv or "", set_content_type="text/csv; charset=utf-8")
    else:
        handler.write_json(result.value)


async def respond_async(
    handler: RestifiedHandler,
    access: RunsAccess,
    path: str,
    spec: NotebookSpec,
    values: Mapping[str, Any],
    preference: Preference,
    key: EndpointKey | None,
) -> Run:
    """``Prefer: respond-async`` on a call: make a run and answer 202 with it at once — or,
    with ``wait=N``, as a synchronous call would if the run is over within N seconds.
    Returns the run."""
    manager = access.manager
    path = normalize_path(path)
    saved = manager.service.saved_for(path, spec) or await manager.service.load_saved(path)
    run = await manager.submit(path, saved, values, key)
    if preference.wait:
        run = await manager.wait(run.id, preference.wait) or run
        if run.done:
            handler.set_header("Preference-Applied", f"wait={preference.wait:g}")
            result = result_for(access, run, key)
            respond_result(handler, result, handler.request.headers.get("Accept"))
            return run
    full = access.full_view(key)
    handler.set_header("Preference-Applied", "respond-async")
    handler.set_header("Location", run_links(handler, run, full)["self"])
    handler.set_header("Retry-After", str(RETRY_AFTER))
    handler.write_json(render_run(handler, run, full), status=202)
    return run


class RunsHandlerBase(RestifiedHandler):
    """What every runs route shares: who asks (a server user, or a key holder) and which
    runs they may see."""

    key: EndpointKey | None = None

    def initialize(self, access: RunsAccess) -> None:
        """The route's collaborators."""
        self.access = access
        self.runs = access.manager

    def check_xsrf_cookie(self) -> None:
        """A key in a header is no ambient credential: nothing to forge; else as usual."""
        if in_header(presented_key(self.request)):
            return
        super().check_xsrf_cookie()

    async def _admit(self, action: str) -> None:
        """A server user allowed ``action``, or a holder of a valid key presented where keys
        are taken (on a GET: the header or the query; else the header), within its rate:
        each keyed request here counts against ``key_rate_limit`` as a call does (403 or
        429 otherwise)."""
        presented = presented_key(self.request)
        if presented is None:
            await authorize_user(self, action)
            return
        secret, where = presented
        refuse_misplaced_key(where, self.request.method or "GET")
        keys = self.access.keys
        parts = split_secret(secret)

        def verified() -> EndpointKey:
            own = [k for k in keys.list() if parts and k.id == parts[0]]
            if not own:
                raise KeyRefused("this key is not valid (unknown, revoked or mistyped)")
            return keys.verify(secret, own[0].path)

        # The store stats (and may re-read) its file: in a thread, off the event loop.
        key = await asyncio.to_thread(verified)
        self.access.limiter.check(key.id)
        self.key = key

    @property
    def full(self) -> bool:
        """Whether this caller sees everything of a run."""
        return self.access.full_view(self.key)

    async def _run(self, run_id: str, action: str) -> Run:
        """The run ``run_id`` if this caller may see it (404 otherwise, a malformed id
        included)."""
        await self._admit(action)
        run = self.runs.get(run_id) if is_run_id(run_id) else None
        if run is None or (self.key is not None and run.key_id != self.key.id):
            raise NotFound(f"no run with id {run_id}")
        return run


class RunsHandler(RunsHandlerBase):
    """``GET /api/restified/runs?path=&limit=``: recent runs, newest first."""

    @allow_unauthenticated  # a server user (read) or a key holder: see _admit
    async def get(self) -> None:
        """``{"runs": [run objects]}`` of one notebook (``?path=``) or all."""
        await self._admit("read")
        path = self.get_query_argument("path", None)
        try:
            limit = int(self.get_query_argument("limit", "50"))
        except ValueError:
            raise InvalidParameters([{"name": "limit", "problem": "not an integer"}]) from None
        runs = self.runs.find(
            normalize_path(path) if path else None, self.key.id if self.key else None
        )
        self.write_json({"runs": [render_run(self, r, self.full) for r in runs[: max(0, limit)]]})


class RunHandler(RunsHandlerBase):
    """``GET|DELETE /api/restified/runs/<id>``: the run object; cancel."""

    @allow_unauthenticated
    async def get(self, run_id: str) -> None:
        """The run object."""
        run = await self._run(run_id, "read")
        self.write_json(render_run(self, run, self.full))

    @allow_unauthenticated
    async def delete(self, run_id: str) -> None:
        """Cancel the run (its processes are killed); answer the run object, ``cancelled``
        (a run already over is left as it is)."""
        run = await self._run(run_id, "execute")
        run = await self.runs.cancel(run.id) or run
        self.write_json(render_run(self, run, self.full))


class RunResultHandler(RunsHandlerBase):
    """``GET /api/restified/runs/<id>/result``: the result as a call answers it."""

    @allow_unauthenticated
    async def get(self, run_id: str) -> None:
        """The result (JSON, PNG, CSV), or the run's error with its status; 409
        ``not_finished`` while it runs, 409 ``cancelled`` if it was cancelled."""
        run = await self._run(run_id, "read")
        result = result_for(self.access, run, self.key)
        respond_result(self, result, self.request.headers.get("Accept"))


class RunNotebookHandler(RunsHandlerBase):
    """``GET /api/restified/runs/<id>/notebook``: the executed notebook."""

    @allow_unauthenticated
    async def get(self, run_id: str) -> None:
        """The notebook as run, as an ``.ipynb`` file (409 while the run is not over)."""
        run = await self._run(run_id, "read")
        if not self.full:
            raise KeyRefused("the executed notebook is not shown to endpoint key holders")
        if not run.done:
            raise NotFinished(f"run {run.id} is {run.status}; its notebook is written at its end")
        content = await self.runs.notebook(run.id)
        if content is None:
            raise NotFound(f"the executed notebook of run {run.id} was not kept")
        name = run.path.rsplit("/", 1)[-1].removesuffix(".ipynb")
        self.set_header(
            "Content-Disposition", f'attachment; filename="{name}-run-{run.id[:8]}.ipynb"'
        )
        self.finish(content, set_content_type="application/x-ipynb+json")


class RunEventsHandler(RunsHandlerBase):
    """``GET /api/restified/runs/<id>/events``: the run's events as Server-Sent Events."""

    _gone = False

    def on_connection_close(self) -> None:
        """The subscriber left: stop streaming."""
        self._gone = True
        super().on_connection_close()

    @allow_unauthenticated
    async def get(self, run_id: str) -> None:
        """Each event as ``id:``, ``event:``, ``data:`` (JSON), flushed one by one: from
        the start, or after ``Last-Event-ID`` (or ``?last_event_id=``); ends after ``done``,
        whose data is the run object."""
        run = await self._run(run_id, "read")
        events = self.runs.events(run.id)
        if events is None:
            raise NotFound(f"no run with id {run_id}")
        given = self.request.headers.get("Last-Event-ID") or self.get_query_argument(
            "last_event_id", "0"
        )
        try:
            last = max(0, int(given or 0))
        except ValueError:
            raise InvalidParameters(
                [{"name": "Last-Event-ID", "problem": "not an event id"}]
            ) from None
        content_type = "text/event-stream; charset=utf-8"
        self.set_header("Content-Type", content_type)
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")  # no buffering proxy in between
        try:
            while not self._gone:
                fresh = events.since(last)
                for event in fresh:
                    last = event.id
                    if event.event == "output" and not self.full:
                        continue  # the notebook's output is its author's
                    data = event.data
                    if event.event == "done":
                        data = render_run(self, self.runs.get(run.id) or run, self.full)
                    body = json.dumps(data, allow_nan=False, ensure_ascii=False)
                    self.write(f"id: {event.id}\nevent: {event.event}\ndata: {body}\n\n")
                    await self.flush()
                    if event.event == "done":
                        self.finish(set_content_type=content_type)
                        return
                if events.closed and not events.since(last):
                    break
                if not fresh:
                    await events.wait_beyond(last, KEEPALIVE)
                    if not events.since(last) and not events.closed:
                        self.write(": keep-alive\n\n")
                        await self.flush()
        except StreamClosedError:
            log.debug("events of run %s: the subscriber left", run.id)
            return
        if not self._finished:
            self.finish(set_content_type=content_type)


def runs_routes(access: RunsAccess) -> list[tuple[str, Any, dict[str, Any]]]:
    """The runs routes with their collaborators."""
    given = {"access": access}
    return [
        (r"/api/restified/runs", RunsHandler, given),
        (rf"/api/restified/runs/{RUN_ID}", RunHandler, given),
        (rf"/api/restified/runs/{RUN_ID}/result", RunResultHandler, given),
        (rf"/api/restified/runs/{RUN_ID}/events", RunEventsHandler, given),
        (rf"/api/restified/runs/{RUN_ID}/notebook", RunNotebookHandler, given),
    ]
