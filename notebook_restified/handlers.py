"""HTTP handlers: thin wrappers that parse a request, call the service and map errors."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

if TYPE_CHECKING:
    from .extension import RestifiedApp

AUTH_RESOURCE = "restified"


class RestifiedHandler(ExtensionHandlerMixin, APIHandler):
    """Base for every route of the extension: authenticated, JSON in and out."""

    auth_resource = AUTH_RESOURCE

    @property
    def app(self) -> RestifiedApp:
        """The extension application that owns this handler."""
        return cast("RestifiedApp", self.extensionapp)

    def write_json(self, body: Any, status: int = 200) -> None:
        """Answer with ``body`` as strict JSON."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body, allow_nan=False))


class StatusHandler(RestifiedHandler):
    """``GET /api/restified/status``: version and effective configuration."""

    @web.authenticated
    @authorized
    def get(self) -> None:
        """Report the extension's version and configuration."""
        self.write_json(self.app.status())
