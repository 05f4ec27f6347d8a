"""What the spec JSON and the OpenAPI document each say of a parameter, each read on its own
terms, so that the two can be compared: a drift in either serializer shows as a difference.

The spec JSON's view comes from its own fields (``type``, ``nullable``, ``default``, ``help``;
the format a type implies), and from its ``schema`` only for what nothing else states
(choices, bounds, element types). The OpenAPI view is read back from a JSON Schema alone:
the type from ``type``, ``format`` and ``contentEncoding``, null from the types or the enum.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

BOUNDS = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
)
ELEMENTS = ("items", "prefixItems", "additionalProperties")

# The format each declared type implies, and the declared type each JSON Schema spelling
# stands for.
FORMATS = {"date": "date", "datetime": "date-time", "time": "time", "path": "path"}
ENCODINGS = {"bytes": "base64"}
JSON_KINDS = {
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "string": "str",
    "array": "list",
    "object": "dict",
}
TEXT_KINDS = {**{f: k for k, f in FORMATS.items()}, **{e: k for k, e in ENCODINGS.items()}}

# A parameter's text is JSON (a query's `content`, a form field's `contentType`) for these.
JSON_TEXT_KINDS = ("list", "dict", "any")

NO_DEFAULT = "(no default)"


@dataclass(frozen=True)
class View:
    """A parameter as one document describes it."""

    kind: str
    nullable: bool
    choices: tuple[Any, ...] | None
    default: Any
    bounds: tuple[tuple[str, Any], ...]
    format: str | None
    elements: tuple[tuple[str, Any], ...]
    help: str


def _choices(schema: dict[str, Any]) -> tuple[Any, ...] | None:
    if "enum" not in schema:
        return None
    # 1 and True are equal in Python: keep JSON's kinds apart.
    return tuple((type(v).__name__, v) for v in schema["enum"] if v is not None)


def _picked(schema: dict[str, Any], keys: tuple[str, ...]) -> tuple[tuple[str, Any], ...]:
    return tuple((key, schema[key]) for key in keys if key in schema)


def _with_offset(text: Any) -> bool:
    return isinstance(text, str) and bool(re.search(r"(?:[zZ]|[+-]\d\d:?\d\d)$", text))


def spec_view(parameter: dict[str, Any]) -> View:
    """A parameter of the spec JSON (``GET /api/restified/spec/<path>``)."""
    kind = parameter["type"]
    schema = parameter.get("schema", {})
    default = parameter["default"]
    # RFC 3339 wants an offset: a date-time or time default without one is the spec's only.
    if kind in ("datetime", "time") and default is not None and not _with_offset(default):
        default = NO_DEFAULT
    return View(
        kind=kind,
        nullable=parameter["nullable"],
        choices=_choices(schema),
        default=default,
        bounds=_picked(schema, BOUNDS),
        format=FORMATS.get(kind) or ENCODINGS.get(kind),
        elements=_picked(schema, ELEMENTS),
        help=parameter["help"],
    )


def openapi_view(schema: dict[str, Any]) -> View:
    """A parameter's JSON Schema in the OpenAPI document, read back alone."""
    types = schema.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    named = [t for t in types if t != "null"]
    assert len(named) <= 1, f"a union of JSON types: {types}"
    text_format = schema.get("format") or schema.get("contentEncoding")
    if not named:
        kind = "any"
    elif named == ["string"] and text_format:
        kind = TEXT_KINDS[text_format]
    else:
        kind = JSON_KINDS[named[0]]
    # Without a type (`any`), null is a value unless choices leave it out.
    nullable = "null" in types if types else "enum" not in schema or None in schema["enum"]
    return View(
        kind=kind,
        nullable=nullable,
        choices=_choices(schema),
        default=schema.get("default", NO_DEFAULT),
        bounds=_picked(schema, BOUNDS),
        format=text_format,
        elements=_picked(schema, ELEMENTS),
        help=schema.get("description", ""),
    )


def compare_parameters(spec: dict[str, Any], document: dict[str, Any], path: str) -> int:
    """Assert that the spec JSON and the OpenAPI document of ``path`` (both as served)
    describe each parameter alike: its body schema, its query parameter and its form parts.
    Returns how many parameters were compared."""
    parameters = spec["parameters"]
    names = [p["name"] for p in parameters]
    properties = document["components"]["schemas"]["Parameters"]["properties"]
    assert list(properties) == names, path
    operations = next(iter(document["paths"].values()))
    query = {q["name"]: q for q in operations["get"]["parameters"] if q["in"] == "query"}
    assert list(query) == names, path
    content = operations["post"]["requestBody"]["content"]
    for media in ("application/json", "application/x-www-form-urlencoded"):
        assert content[media]["schema"]["properties"] == properties, (path, media)
    urlencoded = content["application/x-www-form-urlencoded"].get("encoding", {})
    multipart = content["multipart/form-data"]
    parts = multipart["schema"]["properties"]
    assert list(parts) == names, path
    for parameter in parameters:
        name, kind = parameter["name"], parameter["type"]
        where = f"{path}: {name}"
        expected = spec_view(parameter)
        assert openapi_view(properties[name]) == expected, where
        # The query: JSON text in `content` for lists, dicts and `any`, else a schema.
        entry = query[name]
        if kind in JSON_TEXT_KINDS:
            assert "schema" not in entry, where
            query_schema = entry["content"]["application/json"]["schema"]
        else:
            assert "content" not in entry, where
            query_schema = entry["schema"]
        assert openapi_view(query_schema) == expected, where
        if parameter["help"]:
            assert entry["description"] == parameter["help"], where
        # A form field holds JSON text where the query does.
        is_json_text = urlencoded.get(name) == {"contentType": "application/json"}
        assert is_json_text == (kind in JSON_TEXT_KINDS), where
        # A multipart part: a file for bytes, else the value's schema.
        if kind == "bytes":
            assert parts[name] == {
                "type": "string",
                "format": "binary",
                **({"description": parameter["help"]} if parameter["help"] else {}),
            }, where
            assert multipart["encoding"][name] == {"contentType": "application/octet-stream"}
        else:
            assert openapi_view(parts[name]) == expected, where
    return len(parameters)
