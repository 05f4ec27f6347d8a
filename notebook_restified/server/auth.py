"""Who may call an endpoint: the server's own users (token or login cookie, then the
server's authorizer for ``execute``), or holders of an endpoint key for that notebook
(``Authorization: Bearer nrk_...``, or ``?key=`` on a GET).

A request that carries an endpoint key anywhere a token is looked for is never shown to
the server's identity provider (:func:`keep_keys_from`): behind JupyterHub that provider
would send the key to the hub as a token to check, so the secret would leave the server. A
key sent where no key is taken (``Authorization: token nrk_...``, ``?token=nrk_...``) is
refused with how to send it (:func:`refuse_misplaced_key`), never tried as a token.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable
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
#: How every endpoint key's secret begins.
_KEY_START = f"{PREFIX}_"

#: Where :func:`presented_key` finds a key. Keys are taken from two places:
#: ``Authorization: Bearer <key>`` and, on a GET, ``?key=<key>``.
HEADER, QUERY = "header", "query"
#: ... and recognised, only to be refused, in two more, where a client would send the
#: server's token: the ``Authorization`` header under another scheme (``token <key>``, or
#: the key alone), and the ``token`` query argument.
OTHER_SCHEME, TOKEN_ARGUMENT = "scheme", "token"


def _authorization_key(request: HTTPServerRequest) -> tuple[str, str] | None:
    """The endpoint key in the request's ``Authorization`` header, whatever its scheme, and
    that scheme (``""``: the key alone)."""
    for value in request.headers.get_list("Authorization"):
        parts = value.split()
        if len(parts) == 1 and parts[0].startswith(_KEY_START):
            return parts[0], ""
        if len(parts) >= 2 and parts[1].startswith(_KEY_START):
            return parts[1], parts[0]
    return None


def presented_key(request: HTTPServerRequest) -> tuple[str, str] | None:
    """The endpoint key a request presents and where: ``(secret, where)``, ``where`` one of
    :data:`HEADER` (``Bearer``), :data:`QUERY` (``?key=``, whatever its value), or
    :data:`OTHER_SCHEME` and :data:`TOKEN_ARGUMENT`, where a key is refused
    (:func:`refuse_misplaced_key`)."""
    in_header = _authorization_key(request)
    if in_header is not None:
        secret, scheme = in_header
        return secret, HEADER if scheme.lower() == "bearer" else OTHER_SCHEME
    values = request.query_arguments.get("key")
    if values:
        return values[-1].decode("utf-8", "replace"), QUERY
    for value in request.query_arguments.get("token", []):
        token = value.decode("utf-8", "replace")
        if token.startswith(_KEY_START):
            return token, TOKEN_ARGUMENT
    return None


def in_header(presented: tuple[str, str] | None) -> bool:
    """Whether a key is presented in a header: no ambient credential, which a page of
    another site could make a browser send, so no XSRF check is due (if the key is in the
    wrong header, it is refused all the same)."""
    return presented is not None and presented[1] in (HEADER, OTHER_SCHEME)


def refuse_misplaced_key(where: str, method: str) -> None:
    """Refuse (403 ``forbidden``, saying how to send a key) a key presented where no key is
    taken: under an ``Authorization`` scheme other than ``Bearer``, in ``?token=`` (both
    the server's token's places), or in the query of a request other than a GET."""
    if where == OTHER_SCHEME:
        raise KeyRefused(
            "send a key in the header as Authorization: Bearer <key>: no other scheme"
            " carries a key (Authorization: token is for the server's own token)"
        )
    if where == TOKEN_ARGUMENT:
        raise KeyRefused(
            "send a key in the header as Authorization: Bearer <key>, or on a GET as"
            " ?key=<key> (?token= is for the server's own token)"
        )
    if where == QUERY and method != "GET":
        raise KeyRefused(f"send a key with a {method} in the header: Authorization: Bearer <key>")


def carries_key(request: HTTPServerRequest) -> bool:
    """Whether ``request`` carries an endpoint key (an ``nrk_`` secret) anywhere a token is
    looked for, whatever its route: its ``Authorization`` header under any scheme, or a
    ``key`` or ``token`` argument (of the query, or of a form body already read)."""
    if _authorization_key(request) is not None:
        return True
    start = _KEY_START.encode()
    return any(
        value.startswith(start)
        for name in ("key", "token")
        for value in request.arguments.get(name, [])
    )


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
        self._held: set[asyncio.Future[None]] = set()  # places runs hold (see hold_while)
        self._flushing: asyncio.Future[None] | None = None  # usage being written, if any

    async def admit(self, secret: str, where: str, method: str, path: str) -> EndpointKey:
        """The key ``secret`` presented (``where``) on a ``method`` call of ``path``, if it
        may make that call now; else the contract's error (403, 429, 503). An admitted call
        holds one of its key's ``max_concurrent`` places until :meth:`release`."""
        refuse_misplaced_key(where, method)
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

    def hold_while(self, key: EndpointKey, work: Awaitable[Any]) -> None:
        """Hold one more of ``key``'s places until ``work`` ends (an asynchronous run the
        key's call made, which outlives the call's own place)."""
        self._in_flight[key.id] = self._in_flight.get(key.id, 0) + 1

        async def release_after() -> None:
            try:
                await work
            finally:
                self.release(key)

        task = asyncio.ensure_future(release_after())
        self._held.add(task)
        task.add_done_callback(self._held.discard)

    def release(self, key: EndpointKey) -> None:
        """The call admitted with ``key`` is over."""
        left = self._in_flight.get(key.id, 0) - 1
        if left > 0:
            self._in_flight[key.id] = left
        else:
            self._in_flight.pop(key.id, None)
