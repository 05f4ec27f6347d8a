"""``/api/restified/keys``: the endpoint keys of the server's notebooks, listed, created
and revoked by the server's users (the Lab panel's Share section). Each key records who
made it: on a JupyterHub, every user the hub lets use the server may make keys on it."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timezone
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..errors import InvalidNotebook, InvalidParameters, InvalidRequest, NotFound
from ..keys import KeyStore
from .auth import creator_of
from .base import RestifiedHandler, log
from .endpoints import EndpointService, normalize_path
from .requests import parse_json_body


def parse_expiry(value: Any) -> datetime | None:
    """A key's expiry from its JSON (ISO 8601, in the future; none: never)."""
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

    def initialize(self, service: EndpointService, keys: KeyStore) -> None:
        """The route's collaborators."""
        self.service = service
        self.keys = keys

    @web.authenticated
    @authorized("read")
    async def get(self) -> None:
        """Keys without their secrets (each with who made it), of one notebook (``?path=``)
        or all."""
        path = self.get_query_argument("path", None)
        keys = await asyncio.to_thread(self.keys.list, normalize_path(path) if path else None)
        self.write_json({"keys": [k.public() for k in keys]})

    @web.authenticated
    @authorized("write")
    async def post(self) -> None:
        """Create a key: ``{"path", "label", "expires"?}``; the secret is in this answer only."""
        body = parse_json_body(self.request.body or b"{}")
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
        expires = parse_expiry(body.get("expires"))
        path = normalize_path(str(path))
        with contextlib.suppress(InvalidNotebook):  # a key may come before the tags are right
            await self.service.load(path)
        creator = creator_of(self.current_user)
        key, secret = await asyncio.to_thread(
            self.keys.create, path, str(label).strip(), expires, creator
        )
        url = self.endpoint_url(path)
        log.info(
            "endpoint key %s (%s) created for %s by %s",
            key.id,
            key.label,
            path,
            key.creator_username or "unknown",
        )
        self.write_json(
            {**key.public(), "secret": secret, "url": url, "link": f"{url}?shared#key={secret}"},
            status=201,
        )


class KeyHandler(RestifiedHandler):
    """``DELETE /api/restified/keys/<id>``: revoke a key."""

    def initialize(self, keys: KeyStore) -> None:
        """The route's collaborators."""
        self.keys = keys

    @web.authenticated
    @authorized("write")
    async def delete(self, key_id: str) -> None:
        """Revoke the key at once."""
        if not await asyncio.to_thread(self.keys.revoke, key_id):
            raise NotFound(f"no key with id {key_id!r}")
        log.info("endpoint key %s revoked", key_id)
        self.set_status(204)
        self.finish()
