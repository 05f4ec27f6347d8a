"""What the index of endpoints says of one notebook: whether it has an endpoint (a
``parameters`` or ``return`` cell) and, when it has, its title, description and parameters.

Pure: a notebook's content in, an entry out; no files, no kernel. Walking the server's
notebooks (through its contents manager, cached by modification stamp) is
``server/endpoints.py``'s ``EndpointsIndex``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .describe import describe_notebook, form_fields
from .errors import RestifiedError
from .spec import load_spec
from .tags import TAG_PARAMETERS, TAG_RETURN

__all__ = ["has_endpoint", "index_entry"]

_ENDPOINT_TAGS = frozenset({TAG_PARAMETERS, TAG_RETURN})


def has_endpoint(nb: Mapping[str, Any]) -> bool:
    """Whether a cell of ``nb`` carries a ``parameters`` or ``return`` tag."""
    for cell in nb.get("cells") or []:
        if not isinstance(cell, Mapping):
            continue
        tags = (cell.get("metadata") or {}).get("tags") or []
        if isinstance(tags, list) and _ENDPOINT_TAGS.intersection(
            t for t in tags if isinstance(t, str)
        ):
            return True
    return False


def index_entry(nb: Any, path: str) -> dict[str, Any] | None:
    """The index entry of the notebook ``nb`` at API path ``path``: ``{path, title,
    description, parameters}`` (and ``error`` when its tags make no function), or ``None``
    when it has no endpoint."""
    if not isinstance(nb, Mapping) or not has_endpoint(nb):
        return None
    title, description = describe_notebook(nb, path)
    entry: dict[str, Any] = {"path": path, "title": title, "description": description}
    try:
        spec = load_spec(nb)
    except RestifiedError as exc:  # tagged, but the tags make no function: listed with why
        entry.update(parameters=[], error=exc.message)
    else:
        entry["parameters"] = form_fields(spec)
    return entry
