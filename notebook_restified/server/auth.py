"""Who may call an endpoint: the server's own users (token or login cookie, then the
server's authorizer for ``execute``), or holders of an endpoint key for that notebook
(``Authorization: Bearer nrk_...``, or ``?key=`` on a GET).

A request that carries an endpoint key is never shown to the server's identity provider
(:func:`keep_keys_from`, on every route of the server): behind JupyterHub that provider
would send the key to the hub as a token to check, so the secret would leave the server.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from jupyter_core.utils import ensure_async
from tornado import web
from tornado.httputil import HTTPServerRequest

from ..errors import KeyRefused, RateLimited
from ..keys import PREFIX, EndpointKey, KeyStore, RateLimiter, split_secret
from .endpoints import normalize_path

#: The resource the server's authorizer is asked about (``read``, ``write``, ``execute``).
AUTH_RESOURCE = "restified"

_KEY_ID = re.compile(r"[0-9a-f]{1,32}")


def presented_key(request: HTTPServerRequest) -> tuple[str, str] | None:
    """The endpoint key a request presents and where: ``(secret, "header" | "query")``."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip().startswith(f"{PREFIX}_"):
        return value.strip(), "header"
    values = request.query_arguments.get("key")
    if values:
        return values[-1].decode("utf-8", "replace"), "query"
    return None


def carries_key(request: HTTPServerRequest) -> bool:
    """Whether ``request`` carries an endpoint key (an ``nrk_`` secret) in its
    ``Authorization`` header or its ``key`` query argument, whatever its route."""
    presented = presented_key(request)
    return presented is not None and presented[0].startswith(f"{PREFIX}_")


def keep_keys_from(provider: Any) -> None:
    """Make the server's identity provider know no user, without looking further, for any
    request of the server (any route, the extension's and the server's own) that carries an
    endpoint key (:func:`carries_key`): a key is never a token of the server, and a provider
    that checks tokens elsewhere (JupyterHub's asks the hub) must not send it there. Such a
    request is then not token-authenticated either (the provider says so of a request it
    knows no user of). Other requests go to the provider as they are."""
    if getattr(provider, "_restified_keeps_keys", False):
        return
    get_user = provider.get_user

    def get_user_without_keys(handler: Any) -> Any:
        if carries_key(handler.request):
            return None
        return get_user(handler)

    provider.get_user = get_user_without_keys
    provider._restified_keeps_keys = True


def creator_of(user: Any) -> dict[str, str] | None:
    """Who makes a key, as recorded on it: the server user's username and display name
    (``None``: no user known)."""
    if not user:
        return None
    if isinstance(user, str):  # an identity provider of the old kind
        return {"username": user, "display_name": user}
    username = str(getattr(user, "username", "") or "")
    if not username:
        return None
    shown = getattr(user, "display_name", "") or getattr(user, "name", "") or username
    return {"username": username, "display_name": str(shown)}


def loggable_key_id(secret: str) -> str:
    """The key's id (not secret) for the log; ``?`` for anything that is not one."""
    parts = split_secret(secret)
    return parts[0] if parts and _KEY_ID.fullmatch(parts[0]) else "?"


async def authorize_user(handler: Any, action: str) -> None:
    """Refuse (403) a request without a server user, or whose user the server's authorizer
    does not allow ``action`` on the extension's resource."""
    user = handler.current_user
    if not user:
        raise web.HTTPError(403, "authentication required")
    allowed = await ensure_async(
        handler.authorizer.is_authorized(handler, user, action, AUTH_RESOURCE)
    )
    if not allowed:
        raise web.HTTPError(403, f"not authorized to {action} on {AUTH_RESOURCE}")


#: ``Sec-Fetch-Site`` values a browser sends only for its own pages' requests or a typed URL.
_SAME_SITE_FETCHES = ("same-origin", "none")


def same_site_proof(handler: Any) -> str | None:
    """What shows that a browser request comes from the server's own pages (``None``:
    nothing): ``Sec-Fetch-Site`` of ``same-origin`` or ``none``, an ``Origin`` or
    ``Referer`` of this server (or one its CORS settings allow), or the XSRF token in a
    header, matching the ``_xsrf`` cookie as jupyter_server checks it."""
    headers = handler.request.headers
    if headers.get("Sec-Fetch-Site", "").strip().lower() in _SAME_SITE_FETCHES:
        return "Sec-Fetch-Site"
    if headers.get("Origin", "null") != "null" and handler.check_origin():
        return "Origin"
    if headers.get("Referer") and handler.check_referer():
        return "Referer"
    if headers.get("X-Xsrftoken") or headers.get("X-Csrftoken"):
        try:  # tornado's own comparison, without jupyter_server's token-auth bypass
            web.RequestHandler.check_xsrf_cookie(handler)
        except web.HTTPError:
            return None
        return "X-XSRFToken"
    return None


def refuse_cross_site(handler: Any) -> None:
    """Refuse (403) a call that a page of another site may have made with the user's
    browser: a call by a server user who is not token-authenticated (the login cookie, or
    a server without auth) that comes with a cookie or a browser's cross-site mark, and
    without proof that it comes from the server's own pages."""
    if handler.token_authenticated:  # a token is never sent by a browser on its own
        return
    fetch_site = handler.request.headers.get("Sec-Fetch-Site", "").strip().lower()
    ambient = "Cookie" in handler.request.headers or fetch_site in ("cross-site", "same-site")
    if ambient and same_site_proof(handler) is None:
        raise web.HTTPError(
            403,
            "a call with the login cookie must come from this server's own pages"
            " (Sec-Fetch-Site, Origin or Referer of this server, or the X-XSRFToken header);"
            " from a script, send the token: Authorization: token <token>",
        )


class KeyAccess:
    """Endpoint keys at call time: checked for the notebook called, rate-limited, bounded in
    calls in flight, and their use recorded."""

    def __init__(self, store: KeyStore, limiter: RateLimiter, max_concurrent: int) -> None:
        self.store = store
        self.limiter = limiter
        self.max_concurrent = max(1, max_concurrent)
        self._in_flight: dict[str, int] = {}
        self._flushing: asyncio.Future[None] | None = None  # usage being written, if any

    async def admit(self, secret: str, where: str, method: str, path: str) -> EndpointKey:
        """The key ``secret`` presented (``where``) on a ``method`` call of ``path``, if it
        may make that call now; else the contract's error (403, 429, 503). An admitted call
        holds one of its key's ``max_concurrent`` places until :meth:`release`."""
        if where == "query" and method != "GET":
            raise KeyRefused("send a key with a POST in the header: Authorization: Bearer <key>")
        # The store stats (and may re-read) its file: in a thread, off the event loop.
        key = await asyncio.to_thread(self.store.verify, secret, normalize_path(path))
        running = self._in_flight.get(key.id, 0)
        if running >= self.max_concurrent:
            # Checked before the rate so a refused call does not use up the key's minute.
            raise RateLimited(
                f"this key has {running} calls in flight; it may have {self.max_concurrent}"
                " at once",
                retry_after=1,
            )
        self.limiter.check(key.id)
        if self.store.record_use(key) and self._flushing is None:
            self._flushing = asyncio.ensure_future(self._flush())
        self._in_flight[key.id] = running + 1
        return key

    async def _flush(self) -> None:
        try:
            await asyncio.to_thread(self.store.flush)
        finally:
            self._flushing = None

    def describe(self, key_id: str, key: EndpointKey | None = None) -> str:
        """How the log names the key ``key_id`` (``key``: as admitted): its label and who
        made it, never its secret; ``no such key`` when this server has none by that id."""
        found = key or self.store.get(key_id)
        if found is None or found.root != self.store.root:
            return "no such key"
        return f"{found.label}, made by {found.creator_username or 'unknown'}"

    def release(self, key: EndpointKey) -> None:
        """The call admitted with ``key`` is over."""
        left = self._in_flight.get(key.id, 0) - 1
        if left > 0:
            self._in_flight[key.id] = left
        else:
            self._in_flight.pop(key.id, None)
