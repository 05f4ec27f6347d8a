"""The base of every handler: authenticated JSON in and out, and one place where domain
errors become the contract's ``{"error": {...}}`` bodies and statuses."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote

from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..contract import http_error_type
from ..errors import RestifiedError, RetryLater
from .auth import AUTH_RESOURCE as AUTH_RESOURCE  # where page.py and others import it

log = logging.getLogger("notebook_restified.server")

#: A notebook path in a route: one or more non-empty segments.
PATH = r"(?P<path>(?:[^/]+/)*[^/]+)"


def allowed_methods(handler: web.RequestHandler) -> list[str]:
    """The methods ``handler``'s route answers: those its class defines (tornado's own
    ``get``, ``put``... answer 405), in tornado's order."""
    return [
        method
        for method in handler.SUPPORTED_METHODS
        if getattr(type(handler), method.lower(), None)
        is not getattr(web.RequestHandler, method.lower(), None)
    ]


def allow_on_405(handler: web.RequestHandler, status_code: int) -> None:
    """A 405 says which methods the route answers (``Allow``, which RFC 9110 requires of
    it). Set while the error is written: tornado clears the headers before."""
    if status_code == 405:
        handler.set_header("Allow", ", ".join(allowed_methods(handler)))


class RestifiedHandler(APIHandler):
    """Base for every route of the extension: authenticated, JSON in and out.

    Domain errors (:class:`RestifiedError`) and tornado's own errors all leave as the
    contract's ``{"error": {"type", "message", ...}}`` with the right status. Subclasses get
    their collaborators through ``initialize`` (the route's keyword arguments). A request
    carrying an endpoint key is never shown to the server's identity provider, here as on
    every route of the server (``auth.keep_keys_from``).
    """

    auth_resource = AUTH_RESOURCE

    #: Set when a page sends a browser to log in (``page.py``).
    login_redirect = False

    def get_login_url(self) -> str:
        """The server's login URL when a page sends a browser to log in; else, as for any
        API route, 403 instead of a redirect."""
        if self.login_redirect:
            return str(web.RequestHandler.get_login_url(self))
        return str(super().get_login_url())

    def write_json(self, body: Any, status: int = 200) -> None:
        """Answer with ``body`` as strict JSON."""
        self.set_status(status)
        self.finish(json.dumps(body, allow_nan=False, ensure_ascii=False))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every error as the contract's JSON (a 405 with ``Allow``)."""
        allow_on_405(self, status_code)
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, RestifiedError):
            self.set_status(exc.status)
            if isinstance(exc, RetryLater):
                self.set_header("Retry-After", str(exc.retry_after))
            body = self.error_json(exc)
        else:
            message = self._reason
            if isinstance(exc, web.HTTPError) and exc.log_message:
                message = exc.log_message % exc.args if exc.args else exc.log_message
            kind = http_error_type(status_code)
            body = {"error": {"type": kind, "message": message}}
        self.finish(json.dumps(body, allow_nan=False, ensure_ascii=False))

    def error_json(self, exc: RestifiedError) -> dict[str, Any]:
        """The JSON body of a domain error; a route may leave out what its caller may not see."""
        return exc.to_json()

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
