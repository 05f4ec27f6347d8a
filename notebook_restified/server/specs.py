"""``GET /api/restified/spec/<path>``, ``POST /api/restified/spec/<path>`` and
``GET /api/restified/openapi/<path>``: what a notebook's endpoint takes and gives, for the Lab
panel and for generated clients."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized
from tornado import web

from ..errors import InvalidRequest, TooLarge
from ..openapi import openapi_document
from ..spec import NotebookSpec, load_spec
from .base import RestifiedHandler
from .endpoints import EndpointService

#: The largest notebook a ``POST`` to the spec route reads (bytes of JSON). The panel sends
#: only what a spec reads (each cell's type and tags, and the sources of the parameters cell,
#: the return cell and the code cells after it), far below this even for long notebooks.
MAX_SPEC_BODY = 2 * 1024 * 1024


class SpecHandler(RestifiedHandler):
    """The notebook's function spec, with its endpoint URL: of the saved file (``GET``), or
    of the notebook in the request's body (``POST``: what a save is about to write)."""

    def initialize(self, service: EndpointService) -> None:
        """The route's collaborators."""
        self.service = service

    @web.authenticated
    @authorized("read")
    async def get(self, path: str) -> None:
        """The spec, with a warning when the notebook's kernel is not available here."""
        spec = await self.service.load(path)
        await self._answer(spec, path)

    @web.authenticated
    @authorized("read")
    async def post(self, path: str) -> None:
        """The spec of the notebook sent in the body, for the notebook at ``path`` (which
        must exist: its URL is answered). The body is read as data, as the saved file is:
        nothing in it runs."""
        if len(self.request.body) > MAX_SPEC_BODY:
            raise TooLarge(
                f"the body is {len(self.request.body)} bytes; the limit is {MAX_SPEC_BODY}"
            )
        notebook = _notebook_body(self.request.body)
        await self.service.stat(path)
        await self._answer(load_spec(notebook), path)

    async def _answer(self, spec: NotebookSpec, path: str) -> None:
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


def _notebook_body(body: bytes) -> dict[str, Any]:
    """A ``POST``'s notebook: an nbformat 4 notebook as JSON, whose parts a spec reads have
    the right shapes (anything else is a 400, never a server error)."""
    try:
        notebook = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("the body is not JSON") from None
    if not isinstance(notebook, dict):
        raise InvalidRequest("the body is not a notebook (a JSON object)")
    if notebook.get("nbformat", 4) != 4:
        raise InvalidRequest("only nbformat 4 notebooks are read")
    metadata = notebook.get("metadata", {})
    if not isinstance(metadata, Mapping) or not all(
        isinstance(metadata.get(key, {}), Mapping) for key in ("kernelspec", "language_info")
    ):
        raise InvalidRequest("the notebook's metadata is not an object of objects")
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        raise InvalidRequest("the notebook has no list of cells")
    for index, cell in enumerate(cells):
        if not (
            isinstance(cell, Mapping)
            and isinstance(cell.get("cell_type"), str)
            and isinstance(cell.get("metadata", {}), Mapping)
            and _is_source(cell.get("source", ""))
        ):
            raise InvalidRequest(f"cell {index} is not a cell (cell_type, source, metadata)")
    return notebook


def _is_source(source: Any) -> bool:
    return isinstance(source, str) or (
        isinstance(source, list) and all(isinstance(line, str) for line in source)
    )


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
