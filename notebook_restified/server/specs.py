"""``GET /api/restified/spec/<path>`` and ``GET /api/restified/openapi/<path>``: what a
notebook's endpoint takes and gives, for the Lab panel and for generated clients."""

from __future__ import annotations

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized
from tornado import web

from ..openapi import openapi_document
from .base import RestifiedHandler
from .endpoints import EndpointService


class SpecHandler(RestifiedHandler):
    """The notebook's function spec, with its endpoint URL."""

    def initialize(self, service: EndpointService) -> None:
        """The route's collaborators."""
        self.service = service

    @web.authenticated
    @authorized("read")
    async def get(self, path: str) -> None:
        """The spec, with a warning when the notebook's kernel is not available here."""
        spec = await self.service.load(path)
        body = spec.to_json()
        body.update({"path": path, "url": self.endpoint_url(path)})
        # The declared warm-up as the kernel serving this version ran it (null: not warm
        # yet, or none declared); one that failed is a warning, as a failed setup is an error.
        warmup = self.service.warmup_state(path, spec)
        body["warmup_state"] = warmup
        if warmup is not None and warmup.get("error"):
            body["warnings"].append(
                "The warm-up failed, so calls run without it (from the state after setup): "
                f"{warmup['error'].get('message')}"
            )
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
    """The endpoint as an OpenAPI 3.1 document."""

    def initialize(self, service: EndpointService) -> None:
        """The route's collaborators."""
        self.service = service

    @web.authenticated
    @authorized("read")
    async def get(self, path: str) -> None:
        """The OpenAPI document of the notebook's endpoint."""
        spec = await self.service.load(path)
        server = f"{self.request.protocol}://{self.request.host}{self.base_url}"
        self.write_json(openapi_document(spec, path, server))
