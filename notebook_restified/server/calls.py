"""``GET|POST /restified/<path>``: the endpoint itself."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from jupyter_server.auth.decorator import allow_unauthenticated

from ..errors import InvalidParameters, NotAcceptable
from ..keys import EndpointKey
from ..parameters import check_json, coerce_query
from ..results import CallResult
from .auth import KeyAccess, authorize_user, loggable_key_id, presented_key
from .base import RestifiedHandler, log
from .endpoints import EndpointService
from .page import endpoint_page, prefers_html
from .requests import OFFERS, accepts_any_result, body_values, negotiate, query_values


class CallHandler(RestifiedHandler):
    """Run the saved notebook with the request's values.

    Callers are the server's users (authenticated as for any route, authorized for
    ``execute``), or holders of an endpoint key for this very notebook, presented as
    ``Authorization: Bearer nrk_...`` or, on a GET, as the ``key`` query argument.
    """

    _task: asyncio.Future[CallResult] | None = None
    key: EndpointKey | None = None
    _key_id: str | None = None
    _started: float = 0.0

    def initialize(self, service: EndpointService, keys: KeyAccess, max_body_size: int) -> None:
        """The route's collaborators."""
        self.service = service
        self.keys = keys
        self.max_body_size = max_body_size

    def check_xsrf_cookie(self) -> None:
        """A key in a header is no ambient credential: nothing to forge; else as usual."""
        presented = presented_key(self.request)
        if presented is not None and presented[1] == "header":
            return
        super().check_xsrf_cookie()

    async def _authorize_call(self, path: str) -> None:
        self._started = time.perf_counter()
        presented = presented_key(self.request)
        if presented is None:
            await authorize_user(self, "execute")
            return
        secret, where = presented
        # The id is not secret; anything else a caller sends is not logged as is.
        self._key_id = loggable_key_id(secret)
        self.key = self.keys.admit(secret, where, self.request.method or "GET", path)

    def on_finish(self) -> None:
        """Log every keyed call with the key's id and label, never its secret."""
        if self._key_id is not None:
            log.info(
                "keyed call: key %s (%s) %s %s -> %d in %.1f ms",
                self._key_id,
                self.key.label if self.key else "refused",
                self.request.method,
                self.path_kwargs.get("path", ""),
                self.get_status(),
                (time.perf_counter() - self._started) * 1000,
            )
        super().on_finish()

    def on_connection_close(self) -> None:
        """A client that goes away cancels its queued or running call."""
        if self._task is not None and not self._task.done():
            log.info("client left: cancelling the call of %s", self.request.path)
            self._task.cancel()
        super().on_connection_close()

    @allow_unauthenticated  # authenticated in _authorize_call: by the server or by a key
    async def get(self, path: str) -> None:
        """Values from the query string, coerced to the declared types."""
        if prefers_html(self.request.headers.get("Accept")):  # a browser: the page, no run
            await endpoint_page(self, path)
            return
        await self._authorize_call(path)
        await self._call(path, body=None)

    @allow_unauthenticated
    async def post(self, path: str) -> None:
        """Values from a JSON object body (types checked) or a form body (coerced)."""
        await self._authorize_call(path)
        await self._call(path, body=body_values(self.request, self.max_body_size))

    async def _call(self, path: str, body: tuple[str, Any] | None) -> None:
        started = time.perf_counter()
        accept = self.request.headers.get("Accept")
        if not accepts_any_result(accept):
            raise NotAcceptable(
                f"Accept: {accept} allows none of application/json, image/png, text/csv"
            )
        spec = await self.service.load(path)
        query = query_values(self.request)
        values = coerce_query(spec, query) if query else {}
        if body is not None:
            kind, raw = body
            given = coerce_query(spec, raw) if kind == "form" else check_json(spec, raw)
            twice = sorted(set(values) & set(given))
            if twice:
                raise InvalidParameters(
                    [{"name": n, "problem": "given in both the query and the body"} for n in twice]
                )
            values.update(given)
        self._task = asyncio.ensure_future(self.service.call(path, spec, values))
        try:
            result = await self._task
        finally:
            self._task = None
        self._respond(result, accept)
        log.info(
            "restified %s %s -> %d in %.1f ms",
            self.request.method,
            path,
            self.get_status(),
            (time.perf_counter() - started) * 1000,
        )

    def _respond(self, result: CallResult, accept: str | None) -> None:
        media = negotiate(accept, OFFERS.get(result.kind, OFFERS["json"]))
        if media is None:
            offered = ", ".join(OFFERS.get(result.kind, OFFERS["json"]))
            raise NotAcceptable(f"this result is {offered}; Accept: {accept} allows none of it")
        self.set_header("X-Restified-Duration", f"{result.duration * 1000:.1f}ms")
        # APIHandler.finish sets the Content-Type itself: say which.
        if media == "image/png":
            self.finish(result.png or b"", set_content_type="image/png")
        elif media == "text/csv":
            self.finish(result.csv or "", set_content_type="text/csv; charset=utf-8")
        else:
            self.write_json(result.value)
