"""What a person reading an endpoint needs to know of its notebook: its title, its
description, and each parameter as a form field (its type, default, help, and choices or a
date input when the annotation says so).

Pure: no kernel, no server. Text is returned as text; whoever shows it escapes it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from typing import Any

from .spec import NotebookSpec

__all__ = ["describe_notebook", "form_fields", "saved_result_kind"]

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")

#: The most characters of a description (the first markdown cell can be long).
DESCRIPTION_LIMIT = 2000


def _source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def describe_notebook(nb: Mapping[str, Any], path: str) -> tuple[str, str]:
    """``(title, description)``: the notebook's ``metadata.title``, else the heading that
    opens its first markdown cell, else its file name; the description is the rest of that
    first markdown cell (markdown text, never rendered here)."""
    metadata = nb.get("metadata") or {}
    title = metadata.get("title") if isinstance(metadata.get("title"), str) else ""
    description = ""
    cells = nb.get("cells") or []
    first = next(
        (c for c in cells if isinstance(c, Mapping) and c.get("cell_type") == "markdown"), None
    )
    if first is not None:
        lines = _source(first).strip().splitlines()
        heading = _HEADING.match(lines[0]) if lines else None
        if heading is not None:
            title = title or heading.group(1)
            lines = lines[1:]
        description = "\n".join(lines).strip()
    if not title:
        title = posixpath.basename(path).removesuffix(".ipynb")
    if len(description) > DESCRIPTION_LIMIT:
        description = description[: DESCRIPTION_LIMIT - 1].rstrip() + "…"
    return title.strip(), description


def saved_result_kind(nb: Mapping[str, Any], return_cell: int | None) -> str | None:
    """The kind of result the return cell's saved output shows (``"image"`` for a PNG,
    ``"table"`` for a pandas DataFrame's HTML, else ``"json"``), or ``None`` when the
    notebook was saved without that cell's value. A hint for the page's snippets, which
    take the real kind from the page's own calls."""
    cells = nb.get("cells") or []
    if return_cell is None or not 0 <= return_cell < len(cells):
        return None
    cell = cells[return_cell]
    outputs = cell.get("outputs") if isinstance(cell, Mapping) else None
    for output in outputs if isinstance(outputs, list) else []:
        if not isinstance(output, Mapping) or output.get("output_type") != "execute_result":
            continue
        data = output.get("data")
        if not isinstance(data, Mapping):
            return None
        if "image/png" in data:
            return "image"
        html = data.get("text/html", "")
        html = "".join(html) if isinstance(html, list) else str(html)
        return "table" if 'class="dataframe' in html else "json"
    return None


_INPUTS = {
    "bool": "checkbox",
    "int": "integer",
    "float": "number",
    "date": "date",
    "datetime": "datetime",
    "time": "time",
    "bytes": "file",
    "list": "json",
    "dict": "json",
    "any": "json",
}


def form_fields(spec: NotebookSpec) -> list[dict[str, Any]]:
    """The spec's parameters as form fields: the spec JSON's ``{"name", "type", "default",
    "help", "nullable", "schema"}`` and ``input``: ``checkbox``, ``number``, ``integer``,
    ``select`` (with ``choices``), ``date``, ``datetime``, ``time``, ``file``, ``json`` or
    ``text``."""
    fields = []
    for parameter in spec.parameters:
        field = parameter.to_json()
        choices = parameter.value_type.choices
        if choices:
            field.update(input="select", choices=list(choices))
        else:
            field["input"] = _INPUTS.get(parameter.type, "text")
        fields.append(field)
    return fields
