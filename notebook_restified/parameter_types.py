"""The parameter types: which values and annotations each one stands for, and its JSON Schema.

Pure: no kernel, no server. The one place that maps an annotation (``int``,
``Literal["mean", "median"]``, ``list[int]``, ``datetime.date``,
``Annotated[int, Ge(0), Le(100)]``...) to a :class:`ValueType`, read from the syntax tree and
never evaluated, and a :class:`ValueType` to the JSON Schema that the spec JSON and the
OpenAPI document both show.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime
import pathlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "JSON_KINDS",
    "NONE_NAMES",
    "PARAMETER_TYPES",
    "TEXT_TYPES",
    "TYPE_WORDS",
    "ValueType",
    "annotation_type",
    "annotation_value_type",
    "fits",
    "json_kind",
    "json_name",
    "json_schema",
    "range_comment",
    "type_of",
    "value_type_of",
]

PARAMETER_TYPES = (
    "int",
    "float",
    "bool",
    "str",
    "list",
    "dict",
    "any",
    "date",
    "datetime",
    "time",
    "path",
    "bytes",
)
"""Every parameter type, as the spec JSON names it."""

TEXT_TYPES = ("date", "datetime", "time", "path", "bytes")
"""The types whose JSON form is text: ISO 8601 for the dates, base64 for ``bytes``."""

# The Python class of each JSON kind's values; bool first, since a bool is also an int.
_KIND_CLASSES: tuple[tuple[str, type], ...] = (
    ("bool", bool),
    ("int", int),
    ("float", float),
    ("str", str),
    ("list", list),
    ("dict", dict),
)
JSON_KINDS = tuple(kind for kind, _ in _KIND_CLASSES)
"""The parameter types that take one JSON kind of value."""

TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "str": "a string",
    "list": "a list",
    "dict": "an object (dict)",
    "any": "a JSON value",
    "date": "a date (ISO 8601, 2024-01-31)",
    "datetime": "a date and time (ISO 8601, 2024-01-31T12:30:00)",
    "time": "a time of day (ISO 8601, 12:30:00)",
    "path": "a path (text)",
    "bytes": "bytes (a file, or base64 text)",
}
"""Each parameter type in words, for messages (``expected an integer``)."""

# A value's kind in words; a dict value is named as JSON names it.
_VALUE_WORDS = {**TYPE_WORDS, "dict": "an object"}

# The JSON Schema of each type's JSON form.
_SCHEMAS: dict[str, dict[str, Any]] = {
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "str": {"type": "string"},
    "list": {"type": "array"},
    "dict": {"type": "object"},
    "any": {},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
    "time": {"type": "string", "format": "time"},
    "path": {"type": "string", "format": "path"},
    "bytes": {
        "type": "string",
        "contentEncoding": "base64",
        "pattern": "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
    },
}

# Annotation names (after dropping a typing/builtins/collections.abc prefix) that name one of
# our types.
_ANNOTATION_NAMES: dict[str, str] = {
    "int": "int",
    "float": "float",
    "bool": "bool",
    "str": "str",
    "list": "list",
    "List": "list",
    "tuple": "list",
    "Tuple": "list",
    "Sequence": "list",
    "MutableSequence": "list",
    "set": "list",
    "Set": "list",
    "frozenset": "list",
    "FrozenSet": "list",
    "dict": "dict",
    "Dict": "dict",
    "Mapping": "dict",
    "MutableMapping": "dict",
    "Any": "any",
    "object": "any",
    "bytes": "bytes",
    "date": "date",
    "datetime.date": "date",
    "datetime": "datetime",
    "datetime.datetime": "datetime",
    "time": "time",
    "datetime.time": "time",
    "Path": "path",
    "PurePath": "path",
    "PosixPath": "path",
    "PurePosixPath": "path",
    "pathlib.Path": "path",
    "pathlib.PurePath": "path",
    "pathlib.PosixPath": "path",
    "pathlib.PurePosixPath": "path",
}
_TUPLE_NAMES = frozenset({"tuple", "Tuple"})
_ANNOTATION_PREFIXES = ("typing.", "typing_extensions.", "builtins.", "collections.abc.", "t.")
_MARKER_PREFIXES = ("annotated_types.", "at.", "pydantic.", "typing_extensions.")

NONE_NAMES = frozenset({"None", "NoneType"})
"""Names that spell the type of ``None`` in an annotation or a papermill inferred type."""


# --------------------------------------------------------------------------------------------
# Value types


@dataclass(frozen=True)
class ValueType:
    """What a parameter takes, read from its annotation (and default).

    ``kind`` is one of :data:`PARAMETER_TYPES`. ``items`` is the type of a list's elements
    or a dict's values; ``prefix`` the element types of a fixed-length tuple; ``is_tuple``
    whether the kernel gets a tuple. ``choices`` are a ``Literal``'s values. The bounds:
    ``ge``/``gt``/``le``/``lt``/``multiple_of`` for numbers, ``min_length``/``max_length``
    for a string's characters, a list's items, a dict's keys or the bytes' length.
    """

    kind: str
    nullable: bool = False
    items: ValueType | None = None
    prefix: tuple[ValueType, ...] | None = None
    is_tuple: bool = False
    choices: tuple[Any, ...] | None = None
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    multiple_of: float | None = None
    min_length: int | None = None
    max_length: int | None = None

    @property
    def admits_null(self) -> bool:
        """Whether ``None`` (JSON ``null``) is a value: where the annotation (or a ``None``
        default) admits it, and for ``any`` unless a ``Literal``'s choices (of mixed types)
        leave it out."""
        return self.nullable or (self.kind == "any" and self.choices is None)

    @property
    def has_bounds(self) -> bool:
        """Whether any bound or length applies."""
        return any(getattr(self, name) is not None for name in _BOUND_FIELDS)

    def with_bounds(self, **bounds: Any) -> ValueType:
        """A copy with the given bounds set where this one has none."""
        chosen = {k: v for k, v in bounds.items() if v is not None and getattr(self, k) is None}
        return dataclasses.replace(self, **chosen) if chosen else self


_BOUND_FIELDS = ("ge", "gt", "le", "lt", "multiple_of", "min_length", "max_length")

ANY = ValueType("any", nullable=True)


# --------------------------------------------------------------------------------------------
# Values


def json_kind(value: Any) -> str | None:
    """The one of :data:`JSON_KINDS` that ``value`` is a JSON value of (subclasses included),
    or ``None`` (``None`` itself, tuples, sets and anything else)."""
    for kind, cls in _KIND_CLASSES:
        if isinstance(value, cls):
            return kind
    return None


def type_of(value: Any) -> str:
    """The parameter type a default of ``value`` gives: its JSON kind (tuples and sets are
    lists), a date, time, path or bytes type, else ``any``."""
    if isinstance(value, (tuple, set, frozenset)):
        return "list"
    if isinstance(value, datetime.datetime):  # before date: a datetime is a date
        return "datetime"
    if isinstance(value, datetime.date):
        return "date"
    if isinstance(value, datetime.time):
        return "time"
    if isinstance(value, pathlib.PurePath):
        return "path"
    if isinstance(value, bytes):
        return "bytes"
    return json_kind(value) or "any"


def value_type_of(value: Any) -> ValueType:
    """The :class:`ValueType` a default of ``value`` gives (``None``: any, nullable)."""
    if value is None:
        return ANY
    kind = type_of(value)
    return ValueType(kind, nullable=kind == "any", is_tuple=isinstance(value, tuple))


def fits(type_: str, value: Any) -> bool:
    """Whether a default of ``value`` agrees with the declared ``type_`` (an int fits float;
    ISO text fits a date type, text a path)."""
    if value is None or type_ == "any":
        return True
    actual = type_of(value)
    if actual == type_ or (type_ == "float" and actual == "int"):
        return True
    return actual == "str" and type_ in ("date", "datetime", "time", "path")


def json_name(value: Any) -> str:
    """What ``value`` is, in words for a message: ``null``, ``an integer``, ``a tuple``..."""
    if value is None:
        return "null"
    kind = json_kind(value)
    return _VALUE_WORDS[kind] if kind else f"a {type(value).__name__}"


# --------------------------------------------------------------------------------------------
# Annotations, read from the syntax tree


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    if isinstance(node, ast.Constant) and node.value is None:
        return "None"
    return None


def _short_name(node: ast.expr) -> str | None:
    name = _dotted(node)
    if name is None:
        return None
    for prefix in _ANNOTATION_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _union(members: Iterable[ast.expr]) -> ValueType | None:
    types: list[ValueType] = []
    nullable = False
    for member in members:
        if _short_name(member) in NONE_NAMES:
            nullable = True
            continue
        member_type = _node_type(member)
        if member_type is None:
            return None
        nullable = nullable or member_type.nullable
        types.append(member_type)
    if not types:
        return ValueType("any", nullable=True) if nullable else None
    if len(types) == 1:
        return dataclasses.replace(types[0], nullable=nullable)
    kinds = {t.kind for t in types}
    if all(t.choices is not None for t in types) and len(kinds) == 1:
        # Literal["a"] | Literal["b"]: one set of choices.
        choices = tuple(dict.fromkeys(c for t in types for c in t.choices or ()))
        return ValueType(kinds.pop(), nullable=nullable, choices=choices)
    if kinds == {"int", "float"} and not any(t.choices or t.has_bounds for t in types):
        return ValueType("float", nullable=nullable)
    return ValueType("any", nullable=True)


def _literal(args: list[ast.expr]) -> ValueType | None:
    """``Literal[...]``: its values as choices, of the one type they share (``any`` when
    mixed)."""
    values = []
    for arg in args:
        if not isinstance(arg, (ast.Constant, ast.UnaryOp)):
            return None
        try:
            values.append(ast.literal_eval(arg))
        except ValueError:
            return None
    nullable = None in values
    choices = tuple(v for v in values if v is not None)
    if not all(isinstance(v, (bool, int, float, str)) for v in choices):
        return None
    if not choices:
        return ValueType("any", nullable=True)
    kinds = {type_of(v) for v in choices}
    kind = kinds.pop() if len(kinds) == 1 else "any"
    return ValueType(kind, nullable=nullable, choices=choices)


def _number(node: ast.expr) -> float | None:
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


# annotated-types markers (also pydantic's Field keywords) → ValueType bounds.
_MARKERS = {
    "Ge": ("ge",),
    "Gt": ("gt",),
    "Le": ("le",),
    "Lt": ("lt",),
    "MultipleOf": ("multiple_of",),
    "MinLen": ("min_length",),
    "MaxLen": ("max_length",),
    "Len": ("min_length", "max_length"),
}
_MARKER_KEYWORDS = {
    "ge": "ge",
    "gt": "gt",
    "le": "le",
    "lt": "lt",
    "multiple_of": "multiple_of",
    "min_length": "min_length",
    "max_length": "max_length",
}


def _marker_bounds(node: ast.expr) -> dict[str, float]:
    """The bounds an ``Annotated`` marker sets: ``Ge(0)``, ``Interval(ge=0, lt=1)``,
    ``Len(1, 5)``, ``Field(ge=0)``...; anything else sets none."""
    if not isinstance(node, ast.Call):
        return {}
    name = _dotted(node.func) or ""
    for prefix in _MARKER_PREFIXES:
        name = name.removeprefix(prefix)
    bounds: dict[str, float] = {}
    positional = _MARKERS.get(name, ())
    for field, arg in zip(positional, node.args, strict=False):
        number = _number(arg)
        if number is not None:
            bounds[field] = number
    if name in ("Interval", "Len", "Field", *_MARKERS):
        for keyword in node.keywords:
            named = _MARKER_KEYWORDS.get(keyword.arg or "")
            number = _number(keyword.value)
            if named and number is not None:
                bounds[named] = number
    for field in ("min_length", "max_length"):
        if field in bounds:
            bounds[field] = int(bounds[field])
    return bounds


def _annotated(args: list[ast.expr]) -> ValueType | None:
    base = _node_type(args[0])
    if base is None:
        return None
    bounds: dict[str, Any] = {}
    for marker in args[1:]:
        bounds.update(_marker_bounds(marker))
    return dataclasses.replace(base, **bounds) if bounds else base


def _container(outer: str, args: list[ast.expr]) -> ValueType | None:
    """``list[int]``, ``tuple[int, str]``, ``tuple[int, ...]``, ``dict[str, float]``..."""
    kind = _ANNOTATION_NAMES.get(outer)
    if kind == "list":
        is_tuple = outer in _TUPLE_NAMES
        if is_tuple and len(args) == 2 and _is_ellipsis(args[1]):
            return ValueType("list", items=_node_type(args[0]) or ANY, is_tuple=True)
        if is_tuple:
            if len(args) == 1 and isinstance(args[0], ast.Tuple) and not args[0].elts:
                return ValueType("list", prefix=(), is_tuple=True)  # tuple[()]
            prefix = tuple(_node_type(a) or ANY for a in args)
            return ValueType("list", prefix=prefix, is_tuple=True)
        return ValueType("list", items=_node_type(args[0]) or ANY if args else None)
    if kind == "dict":
        values = _node_type(args[1]) if len(args) == 2 else None
        key = _node_type(args[0]) if args else None
        if key is not None and key.kind not in ("str", "any"):
            values = None  # JSON object keys are text: only str keys are checked
        return ValueType("dict", items=values)
    return ValueType(kind) if kind else None


def _is_ellipsis(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is Ellipsis


def _subscript(node: ast.Subscript) -> ValueType | None:
    outer = _short_name(node.value)
    args = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
    if outer == "Optional" and len(args) == 1:
        inner = _node_type(args[0])
        return None if inner is None else dataclasses.replace(inner, nullable=True)
    if outer == "Union":
        return _union(args)
    if outer == "Annotated" and args:
        return _annotated(args)
    if outer == "Literal":
        return _literal(args)
    if outer is None:
        return None
    return _container(outer, args)


def _node_type(node: ast.expr) -> ValueType | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return annotation_value_type(node.value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union([node.left, node.right])
    if isinstance(node, ast.Subscript):
        return _subscript(node)
    name = _short_name(node)
    if name in NONE_NAMES:
        return ValueType("any", nullable=True)
    kind = _ANNOTATION_NAMES.get(name) if name else None
    if kind is None:
        return None
    return ValueType(kind, nullable=kind == "any", is_tuple=name in _TUPLE_NAMES)


def annotation_value_type(annotation: str) -> ValueType | None:
    """The :class:`ValueType` an annotation's source text names, or ``None`` when it names
    none of :data:`PARAMETER_TYPES` (``np.ndarray``). Read from the syntax tree only.

    >>> annotation_value_type("list[int]").items
    ValueType(kind='int', nullable=False, items=None, prefix=None, is_tuple=False, ...)
    """
    try:
        node = ast.parse(annotation.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    try:
        return _node_type(node)
    except RecursionError:
        return None


def annotation_type(annotation: str) -> tuple[str | None, bool]:
    """Map an annotation's source text to ``(type, nullable)``.

    ``type`` is one of :data:`PARAMETER_TYPES`, or ``None`` when the annotation names none of
    them (``np.ndarray``, ``None``); ``nullable`` is whether it admits ``None``.

    >>> annotation_type("Optional[List[int]]")
    ('list', True)
    """
    found = annotation_value_type(annotation)
    if found is None:
        return None, False
    if found.kind == "any" and found.nullable and found.choices is None:
        # ``None`` / ``Literal[None]`` alone name no type, only that None is allowed.
        name = annotation.strip()
        if _names_only_none(name):
            return None, True
    return found.kind, found.nullable


def _names_only_none(annotation: str) -> bool:
    try:
        node = ast.parse(annotation, mode="eval").body
    except SyntaxError:
        return False
    if _short_name(node) in NONE_NAMES:
        return True
    return (
        isinstance(node, ast.Subscript)
        and _short_name(node.value) == "Literal"
        and isinstance(node.slice, ast.Constant)
        and node.slice.value is None
    )


# A help comment that ends in a range: "how many 1..10", "0..", "..100", "-1.5..1.5".
_RANGE = re.compile(
    r"(?:^|\s)\(?(?P<low>[+-]?\d+(?:\.\d+)?)?\.\.(?P<high>[+-]?\d+(?:\.\d+)?)?\)?\s*$"
)


def range_comment(help_text: str, value_type: ValueType) -> ValueType:
    """Bounds from a help comment ending in ``low..high`` (either side may be left out): the
    value's range for numbers, its length for text, lists, dicts and bytes. Bounds the
    annotation sets win."""
    match = _RANGE.search(help_text)
    if match is None or (match["low"] is None and match["high"] is None):
        return value_type

    def number(text: str | None, integer: bool) -> float | None:
        if text is None:
            return None
        value = float(text)
        return int(value) if integer or value.is_integer() else value

    if value_type.kind in ("int", "float"):
        integer = value_type.kind == "int"
        return value_type.with_bounds(
            ge=number(match["low"], integer), le=number(match["high"], integer)
        )
    if value_type.kind in ("str", "list", "dict", "bytes", "path"):
        if any(side and "." in side for side in (match["low"], match["high"])):
            return value_type
        return value_type.with_bounds(
            min_length=number(match["low"], True), max_length=number(match["high"], True)
        )
    return value_type


# --------------------------------------------------------------------------------------------
# JSON Schema


def _length_keywords(kind: str) -> tuple[str, str]:
    if kind == "list":
        return "minItems", "maxItems"
    if kind == "dict":
        return "minProperties", "maxProperties"
    return "minLength", "maxLength"


def json_schema(value_type: ValueType) -> dict[str, Any]:
    """The JSON Schema (2020-12, as OpenAPI 3.1 reads it) of a value of ``value_type`` in
    a JSON body: type, enum, format, element types and bounds."""
    schema = dict(_SCHEMAS[value_type.kind])
    if value_type.choices is not None:
        schema["enum"] = [*value_type.choices, *([None] if value_type.nullable else [])]
        if value_type.kind == "any":
            schema.pop("type", None)
    if value_type.nullable and "type" in schema:
        schema["type"] = [schema["type"], "null"]
    if value_type.prefix is not None:
        schema["prefixItems"] = [json_schema(t) for t in value_type.prefix]
        schema["items"] = False
        schema["minItems"] = schema["maxItems"] = len(value_type.prefix)
    elif value_type.items is not None:
        key = "items" if value_type.kind == "list" else "additionalProperties"
        schema[key] = json_schema(value_type.items)
    for field, keyword in (
        ("ge", "minimum"),
        ("le", "maximum"),
        ("gt", "exclusiveMinimum"),
        ("lt", "exclusiveMaximum"),
        ("multiple_of", "multipleOf"),
    ):
        bound = getattr(value_type, field)
        if bound is not None and value_type.kind in ("int", "float"):
            schema[keyword] = bound
    if value_type.kind == "bytes":
        return schema  # its lengths count bytes, not the base64 text's characters
    low, high = _length_keywords(value_type.kind)
    if value_type.min_length is not None:
        schema[low] = value_type.min_length
    if value_type.max_length is not None:
        schema[high] = value_type.max_length
    return schema
