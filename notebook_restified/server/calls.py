"""``GET|POST /restified/<path>``: the endpoint itself: who calls, the values, the call
(or, for a notebook that keeps its results, the answer kept), and the answer with its
validator (``ETag``) and ``Cache-Control``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from jupyter_server.auth.decorator import allow_unauthenticated
from tornado import httputil, web

from ..errors import ExecutionError, InvalidRequest, NotAcceptable, RestifiedError, TooLarge
from ..keys import EndpointKey
from ..parameters import check_json, coerce_query, merge_once
from ..results import CallResult
from ..spec import NotebookSpec
from .auth import (
    KeyAccess,
    authorize_user,
    in_header,
    loggable_key_id,
    presented_key,
    refuse_cross_site,
)
from .base import RestifiedHandler, log
from .cache import CachedAnswer, CacheKey, ResultCache, body_digest, etag_matches, strong_etag
from .endpoints import EndpointService, normalize_path
from .page import SHARED, endpoint_page, prefers_html
from .requests import (
    CONTENT_TYPES,
    OFFERS,
    accepts_any_result,
    body_values,
    negotiate,
    query_values,
    wanted_media,
)
from .runs_api import RunsAccess, parse_prefer, respond_async

#: What a key holder is told of a cell that raised (without ``key_tracebacks``).
KEY_HOLDER_FIELDS = ("type", "message", "cell_index", "ename", "evalue")

T = TypeVar("T")

#: A body this large (bytes) is digested for its ``ETag`` in a thread, off the event loop.
_LOOP_DIGEST_LIMIT = 1 << 20

#: A request body this large (bytes) is parsed and its values checked in a thread: seconds
#: of work for a body of millions of values, which the event loop must not wait for.
_LOOP_BODY_LIMIT = 1 << 16

#: ``Cache-Control`` of an answer of a notebook that keeps no results: a client may keep
#: it, but asks again (with ``If-None-Match``: 304 when the call gives the same bytes).
NOT_KEPT = "private, no-cache"


@web.stream_request_body
class CallHandler(RestifiedHandler):
    """Run the saved notebook with the request's values.

    Callers are the server's users (authenticated as for any route, authorized for
    ``execute``), or holders of an endpoint key for this very notebook, presented as
    ``Authorization: Bearer nrk_...`` or, on a GET, as the ``key`` query argument (a key
    anywhere else is refused: ``auth.refuse_misplaced_key``).
    """

    _task: asyncio.Future[Any] | None = None
    key: EndpointKey | None = None
    _key_id: str | None = None
    _started: float = 0.0
    _released: bool = False
    _client_left: bool = False
    _abandoned: bool = False
    _body_size: int = 0
    _page: bool = False
    _closing: bool = False

    def initialize(
        self,
        service: EndpointService,
        keys: KeyAccess,
        max_body_size: int,
        runs: RunsAccess,
        key_tracebacks: bool = False,
        cache: ResultCache | None = None,
    ) -> None:
        """The route's collaborators (``runs``: asynchronous runs and call records;
        ``cache``: the answers kept for notebooks that ask for it), and whether key holders
        see tracebacks."""
        self.cache = cache if cache is not None else ResultCache(0)
        self.service = service
        self.keys = keys
        self.max_body_size = max_body_size
        self.runs = runs
        self.key_tracebacks = key_tracebacks
        self._chunks: list[bytes] = []

    def error_json(self, exc: RestifiedError) -> dict[str, Any]:
        """A keyed caller sees which cell raised what, not the notebook's code or output
        (traceback lines quote its source; stdout and stderr are the author's), unless
        ``key_tracebacks`` is on."""
        body = super().error_json(exc)
        if isinstance(exc, ExecutionError) and self.key is not None and not self.key_tracebacks:
            body["error"] = {k: v for k, v in body["error"].items() if k in KEY_HOLDER_FIELDS}
        return body

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """As every route's; a call refused before its body was read also says
        ``Connection: close``: tornado closes the connection after such an answer, and a
        client keeping it alive would otherwise send its next request into it."""
        if self._closing:
            self.set_header("Connection", "close")
        super().write_error(status_code, **kwargs)

    def check_xsrf_cookie(self) -> None:
        """A key in a header is no ambient credential: nothing to forge; else as usual."""
        if in_header(presented_key(self.request)):
            return
        super().check_xsrf_cookie()

    async def _authorize_call(self, path: str) -> None:
        presented = presented_key(self.request)
        if presented is None:
            await authorize_user(self, "execute")
            refuse_cross_site(self)
            return
        secret, where = presented
        self.key = await self.keys.admit(secret, where, self.request.method or "GET", path)

    def _release_key(self) -> None:
        if self.key is not None and not self._released:
            self._released = True
            self.keys.release(self.key)

    def on_finish(self) -> None:
        """Log every keyed call (and view of the endpoint's page) with the key's id and
        label, never its secret, and a call whose client left as one line."""
        self._release_key()
        elapsed = (time.perf_counter() - self._started) * 1000
        outcome = "client left, call stopped" if self._abandoned else str(self.get_status())
        if self._key_id is not None:  # the key's id, label and maker; never its secret
            log.info(
                "keyed %s: key %s (%s) %s %s -> %s in %.1f ms",
                "page" if self._page else "call",  # a page view runs nothing
                self._key_id,
                self.keys.describe(self._key_id, self.key),
                self.request.method,
                self.path_kwargs.get("path", ""),
                outcome,
                elapsed,
            )
        elif self._abandoned:
            log.info(
                "restified %s %s -> %s after %.1f ms",
                self.request.method,
                self.path_kwargs.get("path", ""),
                outcome,
                elapsed,
            )
        super().on_finish()

    def _log(self) -> None:
        # An abandoned call was logged in on_finish; tornado's access line would add a
        # warning (or a 500 with the request's headers) for the same thing.
        if not self._abandoned:
            super()._log()

    def on_connection_close(self) -> None:
        """A client that goes away cancels its queued or running call."""
        self._client_left = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
        else:  # no call to end (yet): the handler may never finish, so give the place back
            self._release_key()
        super().on_connection_close()

    async def prepare(self) -> None:  # type: ignore[override]
        """Decide who calls before the body is read: a caller without credentials gets its
        403 without the server taking its body; a body announced larger than
        ``max_body_size`` is refused (413) before it is sent."""
        try:
            await self._prepare()
        except BaseException:
            self._closing = True  # refused before the body was read
            raise

    async def _prepare(self) -> None:
        self._started = time.perf_counter()
        presented = presented_key(self.request)
        if presented is not None:  # logged even if refused before it is checked (XSRF)
            # The id is not secret; anything else a caller sends is not logged as is.
            self._key_id = loggable_key_id(presented[0])
        await super().prepare()
        if self._finished:
            return
        if self.request.method == "GET" and prefers_html(self.request.headers.get("Accept")):
            self._page = True  # nothing runs: the page, or the way to log in
            return
        await self._authorize_call(self.path_kwargs.get("path", ""))
        length = self.request.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > self.max_body_size:
            raise self._too_large(int(length))

    def data_received(self, chunk: bytes) -> None:
        """Collect the body of an authorized call, up to ``max_body_size``; past it (a
        chunked body), refuse at once with 413 (the connection then closes)."""
        if self._finished:
            return
        self._body_size += len(chunk)
        if self._body_size > self.max_body_size:
            self._chunks.clear()
            self._closing = True
            error = self._too_large(self._body_size, so_far=True)
            self.send_error(error.status, exc_info=(type(error), error, None))
            return
        self._chunks.append(chunk)

    def _too_large(self, size: int, *, so_far: bool = False) -> TooLarge:
        more = " at least" if so_far else ""
        return TooLarge(f"the body is{more} {size} bytes; the limit is {self.max_body_size}")

    def _read_body(self) -> tuple[str, Any]:
        """The body's values (see ``body_values``). In streaming mode tornado leaves the
        body to the handler: its form fields are parsed here as tornado would."""
        try:
            httputil.parse_body_arguments(
                self.request.headers.get("Content-Type", ""),
                self.request.body,
                self.request.body_arguments,
                self.request.files,
                self.request.headers,
            )
        except httputil.HTTPInputError as exc:  # a form tornado cannot read: the caller's fault
            raise InvalidRequest(f"the body is not a form this server reads: {exc}") from None
        return body_values(self.request, self.max_body_size)

    @allow_unauthenticated  # authenticated in prepare: by the server or by a key
    async def get(self, path: str) -> None:
        """Values from the query string, coerced to the declared types."""
        if self._page:  # a browser: the endpoint's page (page.py decides who sees what)
            await endpoint_page(self, path)
            return
        await self._call(path, body=None)

    @allow_unauthenticated
    async def post(self, path: str) -> None:
        """Values from a JSON object body (types checked) or a form body (coerced)."""
        self.request.body = b"".join(self._chunks)
        self._chunks.clear()
        await self._call(path, body=await self._off_loop(self._read_body))

    async def _off_loop(self, work: Callable[..., T], *args: Any) -> T:
        """``work(*args)``, in a thread when the request's body is large (see
        :data:`_LOOP_BODY_LIMIT`), else here: a thread costs more than small work."""
        if len(self.request.body or b"") > _LOOP_BODY_LIMIT:
            return await asyncio.to_thread(work, *args)
        return work(*args)

    async def _call(self, path: str, body: tuple[str, Any] | None) -> None:
        started = time.perf_counter()
        accept = self.request.headers.get("Accept")
        if not accepts_any_result(accept):
            raise NotAcceptable(
                f"Accept: {accept} allows none of application/json, image/png, text/csv"
            )
        spec = await self.service.load(path)
        values = await self._off_loop(self._values, spec, body)
        if self._client_left:  # gone while its request was read: nothing to run for it
            self._end_abandoned()
            return
        # --- Prefer: respond-async: a run of its own, answered 202 (runs_api.py) ---
        preference = parse_prefer(self.request.headers.get_list("Prefer"))
        if preference.respond_async:
            run = await respond_async(self, self.runs, path, spec, values, preference, self.key)
            if self.key is not None and not run.done:
                # The run holds one of its key's places until it ends, as a call would: a
                # key cannot fill the runs' queue past `key_max_concurrent`.
                self.keys.hold_while(self.key, self.runs.manager.wait(run.id, None))
            return
        # A synchronous call: the one form of each kind of result that Accept prefers is
        # all that is encoded.
        media = wanted_media(accept)
        saved = self.service.saved_for(path, spec)  # what load read: its content's hash
        ttl = spec.cache_ttl if self.cache.enabled and saved is not None else None
        key = await self._off_loop(
            CacheKey.of,
            normalize_path(path),
            saved.sha256 if saved is not None else "",
            values,
            media,
            # Holders of one key share its answers; the server's users share theirs.
            self.key.id if self.key is not None else None,
        )
        leading = False  # whether this call runs for the same calls arriving meanwhile
        kept: CachedAnswer | None = None
        if ttl is None:
            self.cache.drop_path(key.path)  # the notebook no longer keeps results
        else:
            self.cache.drop_path(key.path, keep_sha256=key.notebook_sha256)  # older versions
            kept = self.cache.get(key)
            if kept is None:
                flight = self.cache.flight(key)
                if flight is None:
                    self.cache.take_off(key)
                    leading = True
                else:
                    # The same call is running: what it keeps answers this one too (if it
                    # keeps nothing, this one runs on its own).
                    kept = await self._unless_client_leaves(asyncio.shield(flight))
                    if self._abandoned:
                        return
                    if kept is not None:
                        self.cache.shared += 1
            if kept is not None:
                self._answer_kept(kept)
                log.info(
                    "restified %s %s -> %d from the cache in %.1f ms",
                    self.request.method,
                    path,
                    self.get_status(),
                    (time.perf_counter() - started) * 1000,
                )
                return
        try:
            # Run, recorded as record_calls says.
            result = await self._unless_client_leaves(
                self.runs.manager.call(path, spec, values, self.key, media=media)
            )
            if result is None:
                return
            kept = await self._respond(result, accept, key, ttl)
        finally:
            if leading:
                self.cache.land(key, kept)
        if self._abandoned:
            return
        log.info(
            "restified %s %s -> %d in %.1f ms",
            self.request.method,
            path,
            self.get_status(),
            (time.perf_counter() - started) * 1000,
        )

    def _values(self, spec: NotebookSpec, body: tuple[str, Any] | None) -> dict[str, Any]:
        """The call's values: the query's coerced, and the body's (a form's coerced, a JSON
        object's checked), a name given in both refused."""
        query = query_values(self.request)
        if query.get(SHARED) == [""] and all(p.name != SHARED for p in spec.parameters):
            del query[SHARED]  # a shared link's URL, used by a program: the page's mark only
        values = coerce_query(spec, query) if query else {}
        if body is not None:
            kind, raw = body
            given = coerce_query(spec, raw, form=True) if kind == "form" else check_json(spec, raw)
            values = merge_once(values, given)
        return values

    async def _unless_client_leaves(self, work: Awaitable[T]) -> T | None:
        """What ``work`` gives, or ``None`` if the client left meanwhile (``work`` is then
        cancelled and the call ends abandoned, as :meth:`_end_abandoned` says)."""
        task: asyncio.Future[T] = asyncio.ensure_future(work)
        self._task = task
        try:
            return await task
        except asyncio.CancelledError:
            # The server stopping (this task itself cancelled: Python 3.11 tells it apart),
            # not the client leaving.
            cancelling = getattr(asyncio.current_task(), "cancelling", None)
            if not self._client_left or (cancelling is not None and cancelling()):
                raise
            self._end_abandoned()
            return None
        finally:
            self._task = None

    def _end_abandoned(self) -> None:
        """The client left: no answer to give; 499 (as proxies log it) for on_finish."""
        self._abandoned = True
        self.set_status(499, reason="Client Closed Request")
        self.finish()

    async def _respond(
        self, result: CallResult, accept: str | None, key: CacheKey, ttl: float | None
    ) -> CachedAnswer | None:
        """Answer with the result in the form negotiated (406 if none), with its ``ETag``;
        keep it when the notebook keeps results (``ttl``). Returns the answer as kept, if
        it is."""
        media = (
            result.media
            if result.narrowed
            else negotiate(accept, OFFERS.get(result.kind, OFFERS["json"]))
        )
        if media is None:
            offered = ", ".join(OFFERS.get(result.kind, OFFERS["json"]))
            raise NotAcceptable(f"this result is {offered}; Accept: {accept} allows none of it")
        body = result.body(media)
        if len(body) > _LOOP_DIGEST_LIMIT:
            digest = await asyncio.to_thread(body_digest, body)
            if self._client_left:
                self._end_abandoned()
                return None
        else:
            digest = body_digest(body)
        answer = CachedAnswer(
            body=body,
            content_type=CONTENT_TYPES[media],
            etag=strong_etag(key, media, digest),
            duration=result.duration,
        )
        if ttl is None:
            self._answer(answer, NOT_KEPT)
            return None
        kept = self.cache.put(key, answer, ttl)
        self.set_header("X-Restified-Cache", "miss")
        self._answer(kept or answer, f"private, max-age={int(ttl)}")
        return kept

    def _answer_kept(self, kept: CachedAnswer) -> None:
        """Answer from the cache: nothing runs."""
        now = self.cache.clock()
        self.set_header("X-Restified-Cache", "hit")
        self.set_header("Age", str(int(now - kept.stored)))
        self._answer(kept, f"private, max-age={int(kept.remaining(now))}")

    def _answer(self, answer: CachedAnswer, cache_control: str) -> None:
        """Send ``answer`` (or 304 to a GET whose ``If-None-Match`` names its tag)."""
        self.set_header("ETag", answer.etag)
        self.set_header("Cache-Control", cache_control)
        self.set_header("Vary", "Accept")
        self.set_header("X-Restified-Duration", f"{answer.duration * 1000:.1f}ms")
        if self.request.method == "GET" and etag_matches(
            self.request.headers.get("If-None-Match"), answer.etag
        ):
            self.set_status(304)
            self.finish()
            return
        # APIHandler.finish sets the Content-Type itself: say which.
        self.finish(answer.body, set_content_type=answer.content_type)
