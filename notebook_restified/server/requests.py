"""Reading a call's request: its values from the query and the body, and content
negotiation of what the caller accepts."""

from __future__ import annotations

import json
from typing import Any

from tornado.httputil import HTTPServerRequest

from ..errors import InvalidParameters, InvalidRequest, TooLarge
from ..parameters import RESERVED
from ..values import reject_constant

#: The media types a result of each kind can be sent as, preferred first.
OFFERS = {
    "json": ["application/json"],
    "table": ["application/json", "text/csv"],
    "image": ["image/png"],
}


#: The ``Content-Type`` each media type is sent with.
CONTENT_TYPES = {
    "application/json": "application/json",
    "text/csv": "text/csv; charset=utf-8",
    "image/png": "image/png",
}


def _media_ranges(accept: str) -> list[tuple[str, float]]:
    ranges = []
    for item in accept.split(","):
        media, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media.strip():
            ranges.append((media.strip().lower(), quality))
    return ranges


def negotiate(accept: str | None, offered: list[str]) -> str | None:
    """The offered media type the ``Accept`` header likes best (first offered on a tie)."""
    if not accept:
        return offered[0]
    best: tuple[float, int, str] | None = None
    for position, media in enumerate(offered):
        kind = media.split("/")[0]
        quality = 0.0
        specificity = -1
        for pattern, q in _media_ranges(accept):
            rank = 2 if pattern == media else 1 if pattern == f"{kind}/*" else 0
            if pattern in (media, f"{kind}/*", "*/*") and rank > specificity:
                specificity, quality = rank, q
        if quality > 0 and (best is None or quality > best[0]):
            best = (quality, position, media)
    return best[2] if best else None


def accepts_any_result(accept: str | None) -> bool:
    """Whether ``Accept`` allows some kind of result at all (else 406 before running)."""
    return any(negotiate(accept, offers) for offers in OFFERS.values())


def wanted_media(accept: str | None) -> dict[str, str | None]:
    """For each kind of result, the one media type ``Accept`` prefers (``None``: it allows
    none of the kind's): what the call encodes, and nothing else."""
    return {kind: negotiate(accept, offers) for kind, offers in OFFERS.items()}


def _cache_buster(name: str, values: list[str]) -> bool:
    """``?1700000000000``: a bare number some clients (JupyterLab's own requests) append to
    defeat caches. No parameter can be named so (names are identifiers)."""
    return name.isdigit() and values in ([""], [])


def _utf8_name(name: str) -> str:
    """A query's or an urlencoded form's field name as text: tornado reads its bytes as
    latin-1 (``été`` arrives as ``Ã©tÃ©``); they are read again as UTF-8, as the values
    are. Bytes that are not UTF-8 become U+FFFD, which no identifier holds: the name is
    answered as an unknown parameter (422), never a 500."""
    return name.encode("latin-1").decode("utf-8", "replace")


def _utf8_fields(arguments: dict[str, list[bytes]]) -> dict[str, list[str]]:
    """Fields parsed by tornado from a query or an urlencoded form, names and values read as
    UTF-8 (the server's own arguments left out)."""
    fields: dict[str, list[str]] = {}
    for raw, values in arguments.items():
        name = _utf8_name(raw)
        if name not in RESERVED:
            # Two names not UTF-8 may read the same: their values are kept together.
            fields.setdefault(name, []).extend(v.decode("utf-8", "replace") for v in values)
    return fields


def query_values(request: HTTPServerRequest) -> dict[str, list[str]]:
    """The query's parameter values as text (the server's own arguments left out)."""
    return {
        name: values
        for name, values in _utf8_fields(request.query_arguments).items()
        if not _cache_buster(name, values)
    }


def parse_json_body(body: bytes) -> Any:
    """The body as strict JSON; :class:`InvalidRequest` when it is not JSON (``NaN`` and
    ``Infinity`` are not), nests too deep for the parser (``[[[[...]]]]``: a RecursionError
    is the caller's fault, not the server's) or names a key twice in a nested object;
    :class:`InvalidParameters` when its top-level object gives a name twice (the one rule
    for a parameter given twice, as :func:`~notebook_restified.parameters.merge_once`)."""
    twice: list[tuple[dict[str, Any], str]] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        made: dict[str, Any] = {}
        for key, value in items:
            if key in made:
                twice.append((made, key))
            made[key] = value
        return made

    try:
        data = json.loads(body, parse_constant=reject_constant, object_pairs_hook=pairs)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"the body is not JSON: {exc}") from None
    except RecursionError:
        raise InvalidRequest("the body is not JSON this server reads: it nests too deep") from None
    given_twice = [key for made, key in twice if made is data]
    if given_twice:
        raise InvalidParameters(
            [{"name": n, "problem": "given more than once"} for n in dict.fromkeys(given_twice)]
        )
    if twice:
        raise InvalidRequest(
            f"the body is not JSON this server reads: the key {twice[0][1]!r}"
            " appears twice in one object"
        )
    return data


def body_values(request: HTTPServerRequest, max_body_size: int) -> tuple[str, Any]:
    """The body's values: ``("form", {name: [text or a file part's bytes]})`` to coerce
    like a query, or ``("json", object)`` to check as JSON."""
    if len(request.body) > max_body_size:
        raise TooLarge(f"the body is {len(request.body)} bytes; the limit is {max_body_size}")
    content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    # `curl -d '{...}'` labels JSON as a form: a body that opens like JSON is read as JSON.
    looks_like_json = request.body.lstrip()[:1] in (b"{", b"[", b'"')
    if content_type == "multipart/form-data" or (
        content_type == "application/x-www-form-urlencoded" and not looks_like_json
    ):
        form: dict[str, list[str | bytes]]
        if content_type == "multipart/form-data":
            # tornado reads a part's headers, its name among them, as UTF-8 already.
            form = {
                name: [v.decode("utf-8", "replace") for v in values]
                for name, values in request.body_arguments.items()
                if name not in RESERVED
            }
        else:
            form = {
                name: list(values) for name, values in _utf8_fields(request.body_arguments).items()
            }
        # A multipart form's file parts: their bytes, for `bytes` parameters.
        for name, files in request.files.items():
            if name not in RESERVED:
                form.setdefault(name, []).extend(bytes(f["body"]) for f in files)
        return "form", form
    if not request.body.strip():
        return "json", {}
    body = parse_json_body(request.body)
    if not isinstance(body, dict):
        raise InvalidRequest(f"the body must be a JSON object, not {type(body).__name__}")
    return "json", body
