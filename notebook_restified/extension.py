"""The Jupyter Server extension: configuration, routes and wiring."""

from __future__ import annotations

from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Float, Int

from . import __version__
from .handlers import StatusHandler


class RestifiedApp(ExtensionApp):
    """Serve tagged notebooks as HTTP endpoints under ``/restified/<path>``."""

    name = "notebook_restified"
    description = "Run tagged notebooks as typed, isolated HTTP endpoints."
    load_other_extensions = True

    time_limit = Float(
        30.0,
        config=True,
        help="Seconds one call may run before it is stopped and answered with 504.",
    )
    pool_size = Int(
        2,
        config=True,
        help="Calls that may run at the same time (kernels kept by the pool).",
    )
    queue_size = Int(
        16,
        config=True,
        help="Calls that may wait for a free kernel; past it a call gets 503.",
    )

    def initialize_handlers(self) -> None:
        """Register the extension's routes."""
        self.handlers.extend([(r"/api/restified/status", StatusHandler)])

    def effective_config(self) -> dict[str, Any]:
        """The value of every configurable trait this extension defines."""
        return {name: getattr(self, name) for name in sorted(self.class_own_traits(config=True))}

    def status(self) -> dict[str, Any]:
        """What ``GET /api/restified/status`` answers."""
        return {"version": __version__, "config": self.effective_config()}
