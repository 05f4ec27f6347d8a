"""The endpoint's page, for people: a browser navigating to ``/restified/<path>`` gets an HTML
shell (no notebook text in it, scripts from this extension only), whose script loads the
page data from ``/api/restified/page/<path>`` and builds a form, runs the notebook and shows
the result. ``/restified/`` lists every endpoint, as JSON for programs and as a page.

Who sees what: the shell is answered to the server's users, to a link that carries a key in
its query (``?key=``) and to a shared link (``?shared``, the key in the fragment, which
browsers never send); any other browser is sent to log in. The page data needs a server user
(``execute``) or an endpoint key for that very notebook (``Authorization: Bearer``).
"""

from __future__ import annotations

import asyncio
import html
import os
from typing import Any
from urllib.parse import quote, urlencode

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import allow_unauthenticated
from tornado import web

from ..describe import describe_notebook, form_fields, saved_result_kind
from .auth import HEADER, KeyAccess, authorize_user, presented_key, refuse_misplaced_key
from .base import AUTH_RESOURCE, RestifiedHandler, allow_on_405
from .endpoints import EndpointService, EndpointsIndex, normalize_path
from .requests import negotiate

#: Where the page's script and style are (built by ``jlpm build:page``).
STATIC_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "static")

#: The page's policy: its own script and style only; images it makes from results.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:;"
    " base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)

#: The query argument that marks a shared link (its key is in the fragment).
SHARED = "shared"

_OFFERS = ["application/json", "image/png", "text/csv", "text/html"]

_SHELL = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<link rel="stylesheet" href="{assets}/page.css">
<script type="module" src="{assets}/js/page/page.js"></script>
</head>
<body data-view="{view}" data-base-url="{base_url}" data-path="{path}">
<main id="restified-page" class="rp-main" aria-live="polite"><p class="rp-muted">Loading…</p></main>
<noscript><p>This page needs JavaScript. Programs call this URL with
<code>Accept: application/json</code>.</p></noscript>
</body>
</html>
"""


def prefers_html(accept: str | None) -> bool:
    """Whether ``Accept`` prefers an HTML page to any result (as a browser's navigation
    does); none, ``*/*`` or a tie leave it to the results."""
    return negotiate(accept, _OFFERS) == "text/html"


def _has_credentials(handler: Any) -> bool:
    return bool(handler.current_user) or presented_key(handler.request) is not None


def _send_shell(handler: Any, view: str, path: str = "") -> None:
    base_url = handler.base_url.rstrip("/") + "/"
    title = "Notebook endpoints" if view == "index" else f"{path} — notebook endpoint"
    page = _SHELL.format(
        title=html.escape(title),
        assets=html.escape(f"{base_url}api/restified/assets"),
        view=view,
        base_url=html.escape(base_url),
        path=html.escape(path),
    )
    # The _xsrf cookie: what the page repeats in X-XSRFToken when it POSTs a file with the
    # login cookie.
    _ = handler.xsrf_token
    handler.set_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    handler.set_header("Cache-Control", "no-store")
    handler.set_header("Referrer-Policy", "no-referrer")
    handler.set_header("X-Content-Type-Options", "nosniff")
    handler.finish(page, set_content_type="text/html; charset=utf-8")


def _login_redirect(handler: Any) -> None:
    """302 to the server's login page, back to this page after (as ``@web.authenticated``).
    The login URL is the handler's own, which an identity provider may have set (behind
    JupyterHub: the hub's OAuth URL, which carries the way back itself)."""
    handler.login_redirect = True  # RestifiedHandler.get_login_url: a URL, not a 403
    url = handler.get_login_url()
    if "?" not in url:
        url = f"{url}?{urlencode({'next': handler.request.uri})}"
    handler.redirect(url)


def _has_login_page(handler: Any) -> bool:
    """Whether the server has a login page: ``jupyter restified serve`` has none (it answers
    the extension's routes only), so its page says what credential it needs instead."""
    serverapp = handler.settings.get("serverapp")
    return not callable(getattr(serverapp, "serve_status", None))


async def endpoint_page(handler: Any, path: str) -> None:
    """Answer the page of the endpoint at ``path`` to a browser; nothing runs."""
    normalize_path(path)  # a path that cannot be a notebook is 404 here too
    shared = SHARED in handler.request.query_arguments
    if not shared and not _has_credentials(handler) and _has_login_page(handler):
        _login_redirect(handler)
        return
    _send_shell(handler, "endpoint", path)


async def _may(handler: Any, action: str) -> bool:
    user = handler.current_user
    if not user:
        return False
    return bool(
        await ensure_async(handler.authorizer.is_authorized(handler, user, action, AUTH_RESOURCE))
    )


class PageDataHandler(RestifiedHandler):
    """``GET /api/restified/page/<path>``: what the endpoint's page shows."""

    def initialize(self, service: EndpointService, keys: KeyAccess) -> None:
        """The route's collaborators."""
        self.service = service
        self.keys = keys

    @allow_unauthenticated  # a server user (execute) or a key for this notebook, below
    async def get(self, path: str) -> None:
        """Title, description, form fields, the kind of result the notebook's saved output
        shows, and what the caller may see."""
        presented = presented_key(self.request)
        if presented is not None:  # a key where none is taken: refused, saying how to send it
            refuse_misplaced_key(presented[1], self.request.method or "GET")
        caller: dict[str, Any]
        if presented is not None and presented[1] == HEADER:
            # The store stats (and may re-read) its file: in a thread, off the event loop.
            key = await asyncio.to_thread(
                self.keys.store.verify, presented[0], normalize_path(path)
            )
            self.keys.limiter.check(key.id)
            caller = {"kind": "key", "label": key.label, "can_read": False}
        else:
            await authorize_user(self, "execute")
            caller = {"kind": "user", "can_read": await _may(self, "read")}
        spec = await self.service.load(path)
        path = normalize_path(path)
        model = await ensure_async(
            self.service.contents_manager.get(path, content=True, type="notebook")
        )
        title, description = describe_notebook(model["content"], path)
        base = self.base_url.rstrip("/")
        readable = caller["can_read"]
        run = [*spec.body_cells, *([spec.return_cell] if spec.return_cell is not None else [])]
        self.set_header("Cache-Control", "no-store")
        self.write_json(
            {
                "path": path,
                "url": self.endpoint_url(path),
                "title": title,
                "description": description,
                "parameters": form_fields(spec),
                "result_kind": saved_result_kind(model["content"], spec.return_cell),
                "caller": caller,
                "openapi": f"{base}/api/restified/openapi/{quote(path)}" if readable else None,
                "index": f"{base}/restified/" if readable else None,
                "warnings": list(spec.warnings) if readable else [],
                "cells": {str(i): spec.sources[i] for i in run} if readable else None,
            }
        )


class IndexHandler(RestifiedHandler):
    """``GET /restified/``: every endpoint under the server's root (server users who may
    ``read``), as JSON, or as a page for a browser."""

    def initialize(self, index: EndpointsIndex) -> None:
        """The route's collaborators."""
        self.index = index

    @allow_unauthenticated  # a browser without credentials is sent to log in, below
    async def get(self) -> None:
        """The endpoints: ``{"endpoints": [{path, url, title, description, parameters}]}``."""
        if prefers_html(self.request.headers.get("Accept")):
            if not self.current_user and _has_login_page(self):
                _login_redirect(self)
                return
            _send_shell(self, "index")
            return
        await authorize_user(self, "read")
        entries = await self.index.endpoints()
        self.set_header("Cache-Control", "no-store")
        self.write_json(
            {"endpoints": [{**e, "url": self.endpoint_url(e["path"])} for e in entries]}
        )


class IndexRedirectHandler(RestifiedHandler):
    """``/restified`` without its slash: a permanent redirect to ``/restified/`` (its query
    kept), as Tornado's ``addslash`` does; for a browser at once (the index then sends it to
    log in if need be), for a program only with the server's credentials (403 otherwise,
    as every route of the extension answers)."""

    def _redirect(self) -> None:
        if not self.current_user and not prefers_html(self.request.headers.get("Accept")):
            raise web.HTTPError(403, "Forbidden")
        query = self.request.query
        self.redirect(self.request.path + "/" + (f"?{query}" if query else ""), permanent=True)

    @allow_unauthenticated  # authenticated above, where it matters
    def get(self) -> None:
        """Redirected."""
        self._redirect()

    @allow_unauthenticated
    def head(self) -> None:
        """As ``get``."""
        self._redirect()


class AssetHandler(web.StaticFileHandler):
    """The page's script and style: public files, the same for everyone."""

    def set_extra_headers(self, path: str) -> None:
        """No sniffing; revalidated (they change with the extension)."""
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "no-cache")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Tornado's error page; a 405 with ``Allow``."""
        allow_on_405(self, status_code)
        super().write_error(status_code, **kwargs)
