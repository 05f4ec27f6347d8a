"""A served deployment's state and the routes that report it, for ``jupyter restified serve``.

- :class:`ServeState`: the notebooks warmed at start and how far each got, the calls in
  flight, and whether the server is draining (stopping after SIGTERM).
- ``GET /healthz`` (alive) and ``GET /readyz`` (every notebook to warm is warm, and not
  draining): unauthenticated, answering only that.
- The routing rules put in front of every other route: anything but the extension's routes
  and the two above is 404, and a call while draining is 503 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import logging
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from jupyter_core.utils import ensure_async
from tornado import web
from tornado.httputil import HTTPServerRequest
from tornado.routing import Matcher, PathMatches, Rule

from ..errors import Busy, RestifiedError
from .base import allow_on_405
from .endpoints import EndpointService, normalize_path

log = logging.getLogger(__name__)

#: ``Retry-After`` (seconds) on a call refused while the server drains.
DRAINING_RETRY_AFTER = 5


@dataclass
class WarmUp:
    """How far the start-time warm-up of one notebook got."""

    path: str
    state: str = "pending"  # pending | warming | warm | failed
    error: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """What ``/readyz`` says of it: its path, state, and a failure's type and message."""
        body: dict[str, Any] = {"path": self.path, "state": self.state}
        if self.error is not None:
            body["error"] = self.error
        return body


class ServeState:
    """The notebooks to warm and their progress, the calls in flight, and draining."""

    def __init__(self, service: EndpointService | None = None) -> None:
        self.service = service
        self.warmups: dict[str, WarmUp] = {}
        self.listed = False  # whether the notebooks to warm are known yet
        self.draining = False
        # Requests of /restified/ routes that started and have not finished. Weak: a request
        # whose handler went away without finishing (its client left) is no longer counted.
        self._calls: weakref.WeakSet[HTTPServerRequest] = weakref.WeakSet()

    # -- calls in flight -------------------------------------------------------------

    def call_started(self, request: HTTPServerRequest) -> None:
        """A call was routed to the endpoint."""
        self._calls.add(request)

    def call_finished(self, request: HTTPServerRequest) -> None:
        """A call was answered."""
        self._calls.discard(request)

    def calls_in_flight(self) -> int:
        """Calls started and not yet answered whose client is still connected."""
        return sum(1 for request in list(self._calls) if _connected(request))

    async def drained(self, grace: float, poll: float = 0.05) -> bool:
        """Wait until no call is in flight, at most ``grace`` seconds; whether none is."""
        deadline = time.monotonic() + grace
        while self.calls_in_flight():
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(poll)
        return True

    # -- readiness -------------------------------------------------------------------

    def expect(self, paths: Iterable[str]) -> None:
        """The notebooks that must be warm before the server is ready."""
        self.warmups = {path: WarmUp(path) for path in paths}
        self.listed = True

    def not_ready(self) -> list[WarmUp]:
        """The notebooks to warm that are not warm (pending, warming or failed)."""
        engine = self.service.engine if self.service is not None else None
        return [
            warmup
            for warmup in self.warmups.values()
            # A failed notebook whose later call warmed it counts as warm.
            if warmup.state != "warm" and not (engine is not None and engine.is_warm(warmup.path))
        ]

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Whether the server is ready, and what ``/readyz`` answers."""
        if self.draining:
            return False, {"status": "draining"}
        if not self.listed:
            return False, {"status": "starting"}
        waiting = self.not_ready()
        if waiting:
            return False, {
                "status": "not_ready",
                "not_ready": [warmup.to_json() for warmup in waiting],
            }
        return True, {"status": "ready", "warm": len(self.warmups)}

    async def warm(self, concurrency: int = 1) -> None:
        """Warm every notebook expected, ``concurrency`` at a time; failures are kept."""
        assert self.service is not None
        gate = asyncio.Semaphore(max(1, concurrency))

        async def one(warmup: WarmUp) -> None:
            assert self.service is not None
            async with gate:
                if self.draining:
                    return
                warmup.state = "warming"
                started = time.perf_counter()
                try:
                    spec = await self.service.load(warmup.path)
                    cwd = self.service.working_directory(warmup.path)
                    await self.service.engine.prepare(warmup.path, spec, cwd=cwd)
                except RestifiedError as exc:
                    warmup.state = "failed"
                    warmup.error = {"type": exc.type, "message": exc.message}
                    log.error("warming %s failed: %s", warmup.path, exc.message)
                except Exception as exc:  # a kernel that would not start, a time limit
                    warmup.state = "failed"
                    warmup.error = {"type": type(exc).__name__, "message": str(exc)}
                    log.error("warming %s failed: %s: %s", warmup.path, type(exc).__name__, exc)
                else:
                    warmup.state = "warm"
                    log.info("warmed %s in %.1f s", warmup.path, time.perf_counter() - started)

        await asyncio.gather(*(one(w) for w in self.warmups.values()))


def _connected(request: HTTPServerRequest) -> bool:
    stream = getattr(request.connection, "stream", None)
    return stream is not None and not stream.closed()


async def endpoint_notebooks(service: EndpointService, pattern: str) -> list[str]:
    """The notebooks under the contents manager's root (hidden ones excepted) whose path
    matches ``pattern`` (``all``: every one; ``none``: none) and whose tags make a function
    (one that does not is only logged: it has no endpoint to warm)."""
    if pattern == "none":
        return []
    cm = service.contents_manager
    found: list[str] = []
    directories = [""]
    while directories:
        directory = directories.pop()
        model = await ensure_async(cm.get(directory, content=True, type="directory"))
        for entry in model.get("content") or []:
            if entry["type"] == "directory":
                directories.append(entry["path"])
            elif entry["type"] == "notebook" and (
                pattern == "all" or fnmatch.fnmatchcase(entry["path"], pattern)
            ):
                found.append(normalize_path(entry["path"]))
    endpoints = []
    for path in sorted(found):
        try:
            await service.load(path)
        except RestifiedError as exc:
            log.warning("%s has no endpoint to warm: %s", path, exc.message)
            continue
        endpoints.append(path)
    return endpoints


# -- routes --------------------------------------------------------------------------


class _PlainHandler(web.RequestHandler):
    """JSON answers with no more headers than needed (no server name, no cookies)."""

    def set_default_headers(self) -> None:
        """No ``Server`` header; never cached."""
        self.clear_header("Server")
        self.set_header("Cache-Control", "no-store")

    def write_json(self, body: Any, status: int = 200) -> None:
        """Answer ``body`` as JSON."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Errors as the contract's JSON (a 405 with ``Allow``), and nothing of the
        exception."""
        allow_on_405(self, status_code)
        kind = {404: "not_found", 405: "method_not_allowed"}.get(status_code, "error")
        self.write_json({"error": {"type": kind, "message": self._reason}}, status_code)

    def check_xsrf_cookie(self) -> None:
        """Nothing here acts on a caller's behalf: no cross-site forgery to prevent."""


class HealthHandler(_PlainHandler):
    """``GET /healthz``: 200 while the process serves."""

    def get(self) -> None:
        """Alive."""
        self.write_json({"status": "ok"})


class ReadyHandler(_PlainHandler):
    """``GET /readyz``: 200 when every notebook to warm is warm, else 503 with the
    notebooks not ready (and a failure's error), or ``draining`` when stopping."""

    def initialize(self, state: ServeState) -> None:
        """The route's collaborator: the deployment's state."""
        self.state = state

    def get(self) -> None:
        """Ready or not, and why not."""
        ready, body = self.state.readiness()
        self.write_json(body, 200 if ready else 503)


class NotServedHandler(_PlainHandler):
    """404 for every route this deployment does not serve, whatever the method."""

    def prepare(self) -> None:
        """Nothing here."""
        raise web.HTTPError(404)


class DrainingHandler(_PlainHandler):
    """503 with ``Retry-After`` for every call once the server drains."""

    def prepare(self) -> None:
        """The server is stopping: another instance, or this one restarted, will answer."""
        busy = Busy("the server is shutting down; retry", retry_after=DRAINING_RETRY_AFTER)
        self.set_header("Retry-After", str(busy.retry_after))
        self.write_json(busy.to_json(), busy.status)


class _NotServed(Matcher):
    """Matches every path outside the routes served: the extension's and health."""

    def __init__(self, base_url: str) -> None:
        self.served = (f"{base_url}restified/", f"{base_url}api/restified/")
        # The index without its slash redirects to it.
        self.exact = (f"{base_url}healthz", f"{base_url}readyz", f"{base_url}restified")

    def match(self, request: HTTPServerRequest) -> dict[str, Any] | None:
        path = request.path or ""
        if path.startswith(self.served) or path in self.exact:
            return None
        return {}


class _Calls(Matcher):
    """Matches a call while the server drains; otherwise counts it in flight, unmatched."""

    def __init__(self, base_url: str, state: ServeState) -> None:
        self.prefix = f"{base_url}restified/"
        self.state = state

    def match(self, request: HTTPServerRequest) -> dict[str, Any] | None:
        if not (request.path or "").startswith(self.prefix):
            return None
        if self.state.draining:
            return {}
        self.state.call_started(request)
        return None


def serve_rules(base_url: str, state: ServeState) -> list[Rule]:
    """The rules to put ahead of every route of the server (``base_url`` ends with ``/``)."""
    return [
        Rule(_NotServed(base_url), NotServedHandler),
        Rule(PathMatches(f"{base_url}healthz"), HealthHandler),
        Rule(PathMatches(f"{base_url}readyz"), ReadyHandler, {"state": state}),
        Rule(_Calls(base_url, state), DrainingHandler),
    ]
