"""What a person reading an endpoint needs to know of its notebook: its title, its
description, and each parameter as a form field (its type, default, help, and choices or a
date input when the annotation says so).

Pure: no kernel, no server. Text is returned as text; whoever shows it escapes it.
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Mapping
from typing import Any

from .spec import NotebookSpec

__all__ = ["describe_notebook", "form_fields"]

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


def _literal_choices(annotation: str | None) -> list[Any] | None:
    """The values of a ``Literal[...]`` annotation (possibly inside ``Optional``/``| None``)."""
    if not annotation:
        return None
    try:
        node = ast.parse(annotation, mode="eval").body
    except SyntaxError:
        return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):  # Literal[...] | None
        sides = [node.left, node.right]
        node = next((s for s in sides if isinstance(s, ast.Subscript)), node)
    if not isinstance(node, ast.Subscript):
        return None
    name = ast.unparse(node.value).rsplit(".", 1)[-1]
    if name == "Optional" and isinstance(node.slice, ast.Subscript):
        return _literal_choices(ast.unparse(node.slice))
    if name != "Literal":
        return None
    items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    values = []
    for item in items:
        if not isinstance(item, ast.Constant) or item.value is None:
            continue
        if not isinstance(item.value, (str, int, float, bool)):
            return None
        values.append(item.value)
    return values or None


_DATE_ANNOTATIONS = {"date": "date", "datetime": "datetime"}


def form_fields(spec: NotebookSpec) -> list[dict[str, Any]]:
    """The spec's parameters as form fields: ``{"name", "type", "default", "help",
    "nullable", "input", "choices"?}`` where ``input`` is ``checkbox``, ``number``,
    ``integer``, ``select``, ``date``, ``datetime``, ``json`` or ``text``."""
    fields = []
    for parameter in spec.parameters:
        field = {**parameter.to_json(), "nullable": parameter.nullable}
        choices = _literal_choices(parameter.annotation)
        annotation = (parameter.annotation or "").rsplit(".", 1)[-1].strip()
        if choices:
            field.update(input="select", choices=choices)
        elif parameter.type == "bool":
            field["input"] = "checkbox"
        elif parameter.type == "int":
            field["input"] = "integer"
        elif parameter.type == "float":
            field["input"] = "number"
        elif annotation in _DATE_ANNOTATIONS and parameter.type in ("str", "any"):
            field["input"] = _DATE_ANNOTATIONS[annotation]
        elif parameter.type in ("list", "dict", "any"):
            field["input"] = "json"
        else:
            field["input"] = "text"
        fields.append(field)
    return fields
