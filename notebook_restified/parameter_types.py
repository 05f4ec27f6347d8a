"""The parameter types: which Python values and annotations each one stands for.

Pure: no kernel, no server. The one place that maps a type name (``int``, ``list``, ...) to
the Python values of that kind and back, for the spec (defaults, annotations) and for the
checks of request values alike.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import Any

__all__ = [
    "JSON_KINDS",
    "NONE_NAMES",
    "PARAMETER_TYPES",
    "TYPE_WORDS",
    "annotation_type",
    "fits",
    "json_kind",
    "json_name",
    "type_of",
]

PARAMETER_TYPES = ("int", "float", "bool", "str", "list", "dict", "any")

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
"""The parameter types that take one JSON kind of value (all but ``any``)."""

TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "str": "a string",
    "list": "a list",
    "dict": "an object (dict)",
    "any": "a JSON value",
}
"""Each parameter type in words, for messages (``expected an integer``)."""

# A value's kind in words; a dict value is named as JSON names it.
_VALUE_WORDS = {**TYPE_WORDS, "dict": "an object"}

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
    "dict": "dict",
    "Dict": "dict",
    "Mapping": "dict",
    "MutableMapping": "dict",
    "Any": "any",
    "object": "any",
}
_ANNOTATION_PREFIXES = ("typing.", "typing_extensions.", "builtins.", "collections.abc.", "t.")

NONE_NAMES = frozenset({"None", "NoneType"})
"""Names that spell the type of ``None`` in an annotation or a papermill inferred type."""


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
    lists), else ``any``."""
    if isinstance(value, (tuple, set)):
        return "list"
    return json_kind(value) or "any"


def fits(type_: str, value: Any) -> bool:
    """Whether a default of ``value`` agrees with the declared ``type_`` (an int fits float)."""
    if value is None or type_ == "any":
        return True
    actual = type_of(value)
    return actual == type_ or (type_ == "float" and actual == "int")


def json_name(value: Any) -> str:
    """What ``value`` is, in words for a message: ``null``, ``an integer``, ``a tuple``..."""
    if value is None:
        return "null"
    kind = json_kind(value)
    return _VALUE_WORDS[kind] if kind else f"a {type(value).__name__}"


# --------------------------------------------------------------------------------------------
# Annotations


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


def _union(members: Iterable[ast.expr]) -> tuple[str | None, bool]:
    types: set[str] = set()
    nullable = False
    for member in members:
        member_type, member_nullable = _annotation_node_type(member)
        if member_type is None and not member_nullable:
            return None, False
        nullable = nullable or member_nullable
        if member_type is not None:
            types.add(member_type)
    if types == {"int", "float"}:
        return "float", nullable
    if len(types) == 1:
        return types.pop(), nullable
    return ("any" if types else None), nullable


def _literal_type(args: list[ast.expr]) -> tuple[str | None, bool]:
    """``Literal[...]``: the one type of its values (``any`` when mixed)."""
    values = [a.value for a in args if isinstance(a, ast.Constant)]
    if len(values) != len(args):
        return None, False
    kinds = {type_of(v) for v in values if v is not None}
    if not kinds:
        return None, True
    return (kinds.pop() if len(kinds) == 1 else "any"), None in values


def _subscript_type(node: ast.Subscript) -> tuple[str | None, bool]:
    """``Optional[...]``, ``Union[...]``, ``Annotated[...]``, ``Literal[...]``, ``List[...]``..."""
    outer = _short_name(node.value)
    args = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
    if outer == "Optional" and len(args) == 1:
        return _annotation_node_type(args[0])[0], True
    if outer == "Union":
        return _union(args)
    if outer == "Annotated" and args:
        return _annotation_node_type(args[0])
    if outer == "Literal":
        return _literal_type(args)
    return (_ANNOTATION_NAMES.get(outer) if outer else None), False


def _annotation_node_type(node: ast.expr) -> tuple[str | None, bool]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return annotation_type(node.value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union([node.left, node.right])
    if isinstance(node, ast.Subscript):
        return _subscript_type(node)
    name = _short_name(node)
    if name in NONE_NAMES:
        return None, True
    return (_ANNOTATION_NAMES.get(name) if name else None), False


def annotation_type(annotation: str) -> tuple[str | None, bool]:
    """Map an annotation's source text to ``(type, nullable)``.

    ``type`` is one of :data:`PARAMETER_TYPES`, or ``None`` when the annotation names none of
    them (``np.ndarray``); ``nullable`` is whether it admits ``None``.

    >>> annotation_type("Optional[List[int]]")
    ('list', True)
    """
    try:
        node = ast.parse(annotation.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError):
        return None, False
    return _annotation_node_type(node)
