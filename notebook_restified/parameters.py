"""Turn request values into checked parameter values: query text coerced, JSON checked.

Pure: no kernel, no server. What leaves here is plain data: only declared names, and values
rebuilt from exact JSON types (never subclasses), which :mod:`notebook_restified.inject`
writes into the injected cell as literals.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .declarations import Parameter
from .errors import InvalidParameters, InvalidRequest
from .parameter_types import JSON_KINDS, TYPE_WORDS, json_kind, json_name
from .spec import RESERVED, NotebookSpec

__all__ = [
    "MAX_DEPTH",
    "RESERVED",
    "ValueProblem",
    "check_json",
    "coerce_query",
    "plain_value",
    "unknown_parameter",
]


MAX_DEPTH = 100
"""How deeply lists and dicts may nest in a value (Python's parser refuses ~200 brackets)."""

_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)
_FLOAT = re.compile(
    r"[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)",
    re.ASCII | re.IGNORECASE,
)
_BOOLS = {
    "true": True,
    "yes": True,
    "on": True,
    "1": True,
    "false": False,
    "no": False,
    "off": False,
    "0": False,
}
_WHITESPACE = " \t\r\n"


class ValueProblem(Exception):
    """A value that does not fit its parameter; the message is the per-field problem."""


def plain_value(value: Any, depth: int = 0) -> Any:
    """``value`` rebuilt from plain JSON types (exact ``int``/``float``/``str``/``list``/
    ``dict``, never subclasses); :class:`ValueProblem` for anything else, non-string keys, or
    nesting deeper than :data:`MAX_DEPTH` (counted from ``depth``)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        # The base-class methods give exact ints/floats/strs even from subclasses that
        # override __int__/__repr__, so nothing but plain data reaches the renderer.
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (list, dict)):
        if depth >= MAX_DEPTH:
            raise ValueProblem(f"lists/objects nest more than {MAX_DEPTH} levels deep")
        if isinstance(value, list):
            return [plain_value(v, depth + 1) for v in value]
        result: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueProblem(f"object keys must be strings, not {json_name(key)}")
            result[str.__str__(key)] = plain_value(item, depth + 1)
        return result
    raise ValueProblem(f"contains {json_name(value)}, which is not a JSON value")


def unknown_parameter(spec: NotebookSpec, name: str) -> dict[str, str]:
    """The ``{name, problem}`` detail for a name the notebook does not declare, listing the
    names it does (transport arguments left out)."""
    declared = [p.name for p in spec.parameters if p.name not in RESERVED]
    if declared:
        problem = f"unknown parameter; the parameters are: {', '.join(declared)}"
    else:
        problem = "unknown parameter; this notebook takes no parameters"
    return {"name": name, "problem": problem}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_json(text: str) -> Any:
    """Strict JSON (no NaN/Infinity); :class:`ValueError` if it does not parse."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueProblem(f"lists/objects nest more than {MAX_DEPTH} levels deep") from None


def _coerce_text(parameter: Parameter, text: str) -> Any:
    """One query-string value, coerced to the parameter's type."""
    type_ = parameter.type
    if type_ == "str":
        return text  # even "null": text is what a str parameter takes
    if parameter.nullable and text.strip(_WHITESPACE) == "null":  # as in a JSON body
        return None
    if type_ == "int":
        stripped = text.strip(_WHITESPACE)
        if not _INT.fullmatch(stripped):
            raise ValueProblem(f"expected an integer, got {text!r}")
        try:
            return int(stripped)
        except ValueError:  # beyond sys.get_int_max_str_digits()
            raise ValueProblem("the integer has too many digits") from None
    if type_ == "float":
        stripped = text.strip(_WHITESPACE)
        if not _FLOAT.fullmatch(stripped):
            raise ValueProblem(f"expected a number, got {text!r}")
        return float(stripped)
    if type_ == "bool":
        try:
            return _BOOLS[text.strip(_WHITESPACE).lower()]
        except KeyError:
            raise ValueProblem(
                f"expected a boolean (true/false, yes/no, on/off, 1/0), got {text!r}"
            ) from None
    if type_ in ("list", "dict"):
        try:
            value = _parse_json(text)
        except ValueError:
            raise ValueProblem(f"expected {TYPE_WORDS[type_]} as JSON text") from None
        if value is None and parameter.nullable:
            return None
        if json_kind(value) != type_:
            raise ValueProblem(f"expected {TYPE_WORDS[type_]} as JSON text, got {json_name(value)}")
        return plain_value(value)
    # "any": JSON if it parses, else the text itself.
    try:
        value = _parse_json(text)
    except ValueError:
        return text
    return plain_value(value)


def coerce_query(spec: NotebookSpec, query: Mapping[str, str | Sequence[str]]) -> dict[str, Any]:
    """Coerce query-string (or form) text to the declared parameter types.

    Each value may be a string or a sequence of strings (as a web framework collects
    repeated arguments); a name given more than once is a problem. :data:`RESERVED` names are
    dropped. Parameters that are not given are left out (they keep their defaults).

    Raises :class:`~notebook_restified.errors.InvalidParameters` listing every problem.
    """
    values: dict[str, Any] = {}
    problems: list[dict[str, str]] = []
    for name, raw in query.items():
        if name in RESERVED:
            continue
        texts = [raw] if isinstance(raw, str) else list(raw)
        if not texts:
            continue
        parameter = spec.parameter(name)
        if parameter is None:
            problems.append(unknown_parameter(spec, name))
            continue
        if len(texts) > 1:
            problems.append({"name": name, "problem": "given more than once"})
            continue
        text = texts[0]
        if not isinstance(text, str):
            problems.append({"name": name, "problem": "the value is not text"})
            continue
        try:
            values[name] = _coerce_text(parameter, text)
        except ValueProblem as exc:
            problems.append({"name": name, "problem": str(exc)})
    if problems:
        raise InvalidParameters(problems)
    return values


def _check_value(parameter: Parameter, value: Any) -> Any:
    """One JSON value checked against the parameter's type (an int is a valid float)."""
    type_ = parameter.type
    if value is None:
        if parameter.nullable:
            return None
        raise ValueProblem(f"expected {TYPE_WORDS[type_]}, got null")
    kind = json_kind(value)
    if type_ == "float" and kind == "int":
        try:
            return float(int.__int__(value))
        except OverflowError:
            raise ValueProblem("the number is too large for a float") from None
    if kind == type_ or type_ not in JSON_KINDS:  # "any" takes every JSON value
        return plain_value(value)
    raise ValueProblem(f"expected {TYPE_WORDS[type_]}, got {json_name(value)}")


def check_json(spec: NotebookSpec, values: Mapping[str, Any]) -> dict[str, Any]:
    """Check the values of a JSON object body against the declared parameter types.

    ``int`` takes an integer (not a boolean); ``float`` an integer or a number (returned as
    a float); ``bool``, ``str``, ``list`` and ``dict`` their JSON kind; ``any`` any JSON value.
    ``None`` is accepted only by nullable parameters (default ``None``, type ``any``, or an
    ``Optional`` annotation). :data:`RESERVED` names are dropped. The result holds plain
    Python values (exact ``int``/``float``/``str``/``list``/``dict``, never subclasses).

    Raises :class:`~notebook_restified.errors.InvalidParameters` listing every problem, or
    :class:`~notebook_restified.errors.InvalidRequest` if ``values`` is not an object.
    """
    if not isinstance(values, Mapping):
        raise InvalidRequest(f"The body must be a JSON object, not {json_name(values)}.")
    checked: dict[str, Any] = {}
    problems: list[dict[str, str]] = []
    for name, value in values.items():
        if not isinstance(name, str):
            problems.append({"name": repr(name), "problem": "parameter names must be strings"})
            continue
        if name in RESERVED:
            continue
        parameter = spec.parameter(name)
        if parameter is None:
            problems.append(unknown_parameter(spec, name))
            continue
        try:
            checked[name] = _check_value(parameter, value)
        except ValueProblem as exc:
            problems.append({"name": name, "problem": str(exc)})
    if problems:
        raise InvalidParameters(problems)
    return checked
