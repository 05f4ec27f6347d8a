"""``GET /api/restified/status``: version, effective configuration and pool state."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import RestifiedHandler


class StatusHandler(RestifiedHandler):
    """Report the extension's version, configuration and pool."""

    def initialize(self, status: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        """The route's collaborators: what makes the report."""
        self.report = status

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """The report."""
        self.write_json(await self.report())
