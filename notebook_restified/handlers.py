"""HTTP handlers: thin wrappers that parse a request, call the service and map errors."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import allow_unauthenticated, authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

from .errors import (
    InvalidNotebook,
    InvalidParameters,
    InvalidRequest,
    KeyRefused,
    NotAcceptable,
    NotFound,
    RestifiedError,
    RetryLater,
    TooLarge,
)
from .executors.engine import CallResult
from .keys import PREFIX, EndpointKey, split_secret
from .openapi import openapi_document
from .parameters import RESERVED, check_json, coerce_query
from .service import normalize_path

if TYPE_CHECKING:
    from .extension import RestifiedApp
    from .service import EndpointService

log = logging.getLogger(__name__)

AUTH_RESOURCE = "restified"
_HTTP_ERROR_TYPES = {
    400: "invalid_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
}


class RestifiedHandler(ExtensionHandlerMixin, APIHandler):
    """Base for every route of the extension: authenticated, JSON in and out.

    Domain errors (:class:`RestifiedError`) and tornado's own errors all leave as the
    contract's ``{"error": {"type", "message", ...}}`` with the right status.
    """

    auth_resource = AUTH_RESOURCE

    @property
    def app(self) -> RestifiedApp:
        """The extension application that owns this handler."""
        return cast("RestifiedApp", self.extensionapp)

    @property
    def service(self) -> EndpointService:
        """The endpoint service of the extension."""
        return self.app.service

    def write_json(self, body: Any, status: int = 200) -> None:
        """Answer with ``body`` as strict JSON."""
        self.set_status(status)
        self.finish(json.dumps(body, allow_nan=False, ensure_ascii=False))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every error as the contract's JSON."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, RestifiedError):
            self.set_status(exc.status)
            if isinstance(exc, RetryLater):
                self.set_header("Retry-After", str(exc.retry_after))
            body = exc.to_json()
        else:
            message = self._reason
            if isinstance(exc, web.HTTPError) and exc.log_message:
                message = exc.log_message % exc.args if exc.args else exc.log_message
            kind = _HTTP_ERROR_TYPES.get(status_code, "error" if status_code < 500 else "internal")
            body = {"error": {"type": kind, "message": message}}
        self.finish(json.dumps(body, allow_nan=False, ensure_ascii=False))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Domain errors are answers, not server faults: log them without a traceback."""
        if isinstance(value, RestifiedError):
            log.info("%s %s -> %d %s", self.request.method, self.request.path, value.status, value)
            return
        super().log_exception(typ, value, tb)

    def endpoint_url(self, path: str) -> str:
        """The full URL of the notebook's endpoint."""
        return (
            f"{self.request.protocol}://{self.request.host}"
            f"{self.base_url.rstrip('/')}/restified/{quote(path)}"
        )


class StatusHandler(RestifiedHandler):
    """``GET /api/restified/status``: version, effective configuration and pool state."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Report the extension's version, configuration and pool."""
        self.write_json(await self.app.status())


class SpecHandler(RestifiedHandler):
    """``GET /api/restified/spec/<path>``: what the endpoint of a notebook takes and gives."""

    @web.authenticated
    @authorized("read")
    async def get(self, path: str) -> None:
        """The notebook's function spec, with its endpoint URL."""
        spec = await self.service.load(path)
        body = spec.to_json()
        body.update({"path": path, "url": self.endpoint_url(path)})
        if not await self._kernel_installed(spec.kernel_name):
            body["warnings"].append(
                f"Kernel {spec.kernel_name!r} is not available on this server:"
                " calls fail (502) until it is."
            )
        self.write_json(body)

    async def _kernel_installed(self, name: str) -> bool:
        try:
            specs = await ensure_async(self.kernel_spec_manager.get_all_specs())
        except Exception:  # a gateway that does not answer: no warning rather than an error
            self.log.debug("could not list kernel specs", exc_info=True)
            return True
        return name in specs


class OpenAPIHandler(RestifiedHandler):
    """``GET /api/restified/openapi/<path>``: the endpoint as an OpenAPI 3.1 document."""

    @web.authenticated
    @authorized("read")
    async def get(self, path: str) -> None:
        """The OpenAPI document of the notebook's endpoint."""
        spec = await self.service.load(path)
        server = f"{self.request.protocol}://{self.request.host}{self.base_url}"
        self.write_json(openapi_document(spec, path, server))


def _media_ranges(accept: str) -> list[tuple[str, float]]:
    ranges = []
    for item in accept.split(","):
        media, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media.strip():
            ranges.append((media.strip().lower(), quality))
    return ranges


def negotiate(accept: str | None, offered: list[str]) -> str | None:
    """The offered media type the ``Accept`` header likes best (first offered on a tie)."""
    if not accept:
        return offered[0]
    best: tuple[float, int, str] | None = None
    for position, media in enumerate(offered):
        kind = media.split("/")[0]
        quality = 0.0
        specificity = -1
        for pattern, q in _media_ranges(accept):
            rank = 2 if pattern == media else 1 if pattern == f"{kind}/*" else 0
            if pattern in (media, f"{kind}/*", "*/*") and rank > specificity:
                specificity, quality = rank, q
        if quality > 0 and (best is None or quality > best[0]):
            best = (quality, position, media)
    return best[2] if best else None


def _cache_buster(name: str, values: list[bytes]) -> bool:
    """``?1700000000000``: a bare number some clients (JupyterLab's own requests) append to
    defeat caches. No parameter can be named so (names are identifiers)."""
    return name.isdigit() and values in ([b""], [])


OFFERS = {
    "json": ["application/json"],
    "table": ["application/json", "text/csv"],
    "image": ["image/png"],
}


class CallHandler(RestifiedHandler):
    """``GET|POST /restified/<path>``: run the saved notebook with the request's values.

    Callers are the server's users (authenticated as for any route, authorized for
    ``execute``), or holders of an endpoint key for this very notebook, presented as
    ``Authorization: Bearer nrk_...`` or, on a GET, as the ``key`` query argument.
    """

    _task: asyncio.Future[CallResult] | None = None
    key: EndpointKey | None = None
    _key_id: str | None = None
    _started: float = 0.0

    def _presented_key(self) -> tuple[str, str] | None:
        scheme, _, value = self.request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and value.strip().startswith(f"{PREFIX}_"):
            return value.strip(), "header"
        values = self.request.query_arguments.get("key")
        if values:
            return values[-1].decode("utf-8", "replace"), "query"
        return None

    def check_xsrf_cookie(self) -> None:
        """A key in a header is no ambient credential: nothing to forge; else as usual."""
        presented = self._presented_key()
        if presented is not None and presented[1] == "header":
            return
        super().check_xsrf_cookie()

    async def _authorize_call(self, path: str) -> None:
        self._started = time.perf_counter()
        presented = self._presented_key()
        if presented is None:
            user = self.current_user
            if not user:
                raise web.HTTPError(403, "authentication required")
            allowed = await ensure_async(
                self.authorizer.is_authorized(self, user, "execute", AUTH_RESOURCE)
            )
            if not allowed:
                raise web.HTTPError(403, f"not authorized to execute on {AUTH_RESOURCE}")
            return
        secret, where = presented
        parts = split_secret(secret)
        # The id is not secret; anything else a caller sends is not logged as is.
        self._key_id = parts[0] if parts and re.fullmatch(r"[0-9a-f]{1,32}", parts[0]) else "?"
        if where == "query" and self.request.method != "GET":
            raise KeyRefused("send a key with a POST in the header: Authorization: Bearer <key>")
        key = self.app.keys.verify(secret, normalize_path(path))
        self.key = key
        self.app.key_limiter.check(key.id)
        self.app.keys.record_use(key)

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
        await self._authorize_call(path)
        await self._call(path, body_values=None)

    @allow_unauthenticated
    async def post(self, path: str) -> None:
        """Values from a JSON object body (types checked) or a form body (coerced)."""
        await self._authorize_call(path)
        await self._call(path, body_values=self._body_values())

    def _query(self) -> dict[str, list[str]]:
        return {
            name: [v.decode("utf-8", "replace") for v in values]
            for name, values in self.request.query_arguments.items()
            if name not in RESERVED and not _cache_buster(name, values)
        }

    def _body_values(self) -> tuple[str, Any]:
        limit = self.app.max_body_size
        if len(self.request.body) > limit:
            raise TooLarge(f"the body is {len(self.request.body)} bytes; the limit is {limit}")
        content_type = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        # `curl -d '{...}'` labels JSON as a form: a body that opens like JSON is read as JSON.
        looks_like_json = self.request.body.lstrip()[:1] in (b"{", b"[", b'"')
        if content_type == "multipart/form-data" or (
            content_type == "application/x-www-form-urlencoded" and not looks_like_json
        ):
            form = {
                name: [v.decode("utf-8", "replace") for v in values]
                for name, values in self.request.body_arguments.items()
                if name not in RESERVED
            }
            return "form", form
        if not self.request.body.strip():
            return "json", {}
        try:
            body = json.loads(self.request.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidRequest(f"the body is not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise InvalidRequest(f"the body must be a JSON object, not {type(body).__name__}")
        return "json", body

    async def _call(self, path: str, body_values: tuple[str, Any] | None) -> None:
        started = time.perf_counter()
        accept = self.request.headers.get("Accept")
        if not any(negotiate(accept, offers) for offers in OFFERS.values()):
            raise NotAcceptable(
                f"Accept: {accept} allows none of application/json, image/png, text/csv"
            )
        spec = await self.service.load(path)
        query = self._query()
        values = coerce_query(spec, query) if query else {}
        if body_values is not None:
            kind, raw = body_values
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


def _parse_expiry(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise InvalidParameters([{"name": "expires", "problem": "an ISO 8601 date-time or null"}])
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameters(
            [{"name": "expires", "problem": f"not an ISO 8601 date-time: {value!r}"}]
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    if moment <= datetime.now(timezone.utc):
        raise InvalidParameters([{"name": "expires", "problem": "must be in the future"}])
    return moment


class KeysHandler(RestifiedHandler):
    """``GET|POST /api/restified/keys``: list (``?path=``) and create endpoint keys."""

    @web.authenticated
    @authorized("read")
    def get(self) -> None:
        """Keys without their secrets, of one notebook (``?path=``) or all."""
        path = self.get_query_argument("path", None)
        keys = self.app.keys.list(normalize_path(path) if path else None)
        self.write_json({"keys": [k.public() for k in keys]})

    @web.authenticated
    @authorized("write")
    async def post(self) -> None:
        """Create a key: ``{"path", "label", "expires"?}``; the secret is in this answer only."""
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError as exc:
            raise InvalidRequest(f"the body is not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise InvalidRequest("the body must be a JSON object")
        problems = []
        path, label = body.get("path"), body.get("label")
        if not isinstance(path, str) or not path.strip("/"):
            problems.append({"name": "path", "problem": "the notebook's path is required"})
        if not isinstance(label, str) or not label.strip() or len(label) > 200:
            problems.append({"name": "label", "problem": "a label of 1 to 200 characters"})
        unknown = sorted(set(body) - {"path", "label", "expires"})
        problems += [{"name": n, "problem": "unknown field"} for n in unknown]
        if problems:
            raise InvalidParameters(problems)
        expires = _parse_expiry(body.get("expires"))
        path = normalize_path(str(path))
        with contextlib.suppress(InvalidNotebook):  # a key may come before the tags are right
            await self.service.load(path)
        key, secret = self.app.keys.create(path, str(label).strip(), expires)
        url = self.endpoint_url(path)
        log.info("endpoint key %s (%s) created for %s", key.id, key.label, path)
        self.write_json(
            {**key.public(), "secret": secret, "url": url, "link": f"{url}?key={secret}"},
            status=201,
        )


class KeyHandler(RestifiedHandler):
    """``DELETE /api/restified/keys/<id>``: revoke a key."""

    @web.authenticated
    @authorized("write")
    def delete(self, key_id: str) -> None:
        """Revoke the key at once."""
        if not self.app.keys.revoke(key_id):
            raise NotFound(f"no key with id {key_id!r}")
        log.info("endpoint key %s revoked", key_id)
        self.set_status(204)
        self.finish()


PATH = r"(?P<path>(?:[^/]+/)*[^/]+)"
