"""Turn request values into checked parameter values, and those into an injected cell.

Pure: no kernel, no server. The safety rule this module enforces: parameter *names* written
into code only ever come from :attr:`NotebookSpec.parameters` (identifiers read from the
notebook), and values are written only as literals of plain JSON types, so no request can
make the kernel run code it chooses.
"""

from __future__ import annotations

import json
import keyword
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import InvalidNotebook, InvalidParameters, InvalidRequest
from .spec import RESERVED, TAG_INJECTED, NotebookSpec, Parameter

__all__ = [
    "MAX_DEPTH",
    "RESERVED",
    "check_json",
    "coerce_query",
    "injected_cell",
    "render_injected",
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
_TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "str": "a string",
    "list": "a list",
    "dict": "an object (dict)",
    "any": "a JSON value",
}


class _Problem(Exception):
    """A value that does not fit its parameter; the message is the per-field problem."""


def _json_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def _plain(value: Any, depth: int = 0) -> Any:
    """``value`` rebuilt from plain JSON types (no subclasses), or :class:`_Problem`."""
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
            raise _Problem(f"lists/objects nest more than {MAX_DEPTH} levels deep")
        if isinstance(value, list):
            return [_plain(v, depth + 1) for v in value]
        result: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _Problem(f"object keys must be strings, not {_json_name(key)}")
            result[str.__str__(key)] = _plain(item, depth + 1)
        return result
    raise _Problem(f"contains {_json_name(value)}, which is not a JSON value")


def _unknown(spec: NotebookSpec, name: str) -> dict[str, str]:
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
        raise _Problem(f"lists/objects nest more than {MAX_DEPTH} levels deep") from None


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
            raise _Problem(f"expected an integer, got {text!r}")
        try:
            return int(stripped)
        except ValueError:  # beyond sys.get_int_max_str_digits()
            raise _Problem("the integer has too many digits") from None
    if type_ == "float":
        stripped = text.strip(_WHITESPACE)
        if not _FLOAT.fullmatch(stripped):
            raise _Problem(f"expected a number, got {text!r}")
        return float(stripped)
    if type_ == "bool":
        try:
            return _BOOLS[text.strip(_WHITESPACE).lower()]
        except KeyError:
            raise _Problem(
                f"expected a boolean (true/false, yes/no, on/off, 1/0), got {text!r}"
            ) from None
    if type_ in ("list", "dict"):
        try:
            value = _parse_json(text)
        except ValueError:
            raise _Problem(f"expected {_TYPE_WORDS[type_]} as JSON text") from None
        if value is None and parameter.nullable:
            return None
        expected = list if type_ == "list" else dict
        if not isinstance(value, expected):
            raise _Problem(f"expected {_TYPE_WORDS[type_]} as JSON text, got {_json_name(value)}")
        return _plain(value)
    # "any": JSON if it parses, else the text itself.
    try:
        value = _parse_json(text)
    except ValueError:
        return text
    return _plain(value)


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
            problems.append(_unknown(spec, name))
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
        except _Problem as exc:
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
        raise _Problem(f"expected {_TYPE_WORDS[type_]}, got null")
    if type_ == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return int.__int__(value)
    elif type_ == "float":
        if isinstance(value, int) and not isinstance(value, bool):
            try:
                return float(int.__int__(value))
            except OverflowError:
                raise _Problem("the number is too large for a float") from None
        if isinstance(value, float):
            return float.__float__(value)
    elif type_ == "bool":
        if isinstance(value, bool):
            return value
    elif type_ == "str":
        if isinstance(value, str):
            return str.__str__(value)
    elif type_ == "list":
        if isinstance(value, list):
            return _plain(value)
    elif type_ == "dict":
        if isinstance(value, dict):
            return _plain(value)
    else:
        return _plain(value)
    raise _Problem(f"expected {_TYPE_WORDS[type_]}, got {_json_name(value)}")


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
        raise InvalidRequest(f"The body must be a JSON object, not {_json_name(values)}.")
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
            problems.append(_unknown(spec, name))
            continue
        try:
            checked[name] = _check_value(parameter, value)
        except _Problem as exc:
            problems.append({"name": name, "problem": str(exc)})
    if problems:
        raise InvalidParameters(problems)
    return checked


def _python_literal(value: Any, depth: int = 0) -> str:
    """An exact Python literal for a plain JSON-like value; nothing else is accepted."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        try:
            return int.__repr__(value)
        except ValueError:  # more decimal digits than sys.get_int_max_str_digits()
            return hex(int.__int__(value))
    if isinstance(value, float):
        if math.isfinite(value):
            return float.__repr__(value)
        if math.isnan(value):
            return "float('nan')"
        return "float('inf')" if value > 0 else "-float('inf')"
    if isinstance(value, str):
        return str.__repr__(value)
    if isinstance(value, (list, dict)):
        if depth >= MAX_DEPTH:
            raise ValueError(f"value nests more than {MAX_DEPTH} levels deep")
        if isinstance(value, list):
            return "[" + ", ".join(_python_literal(v, depth + 1) for v in value) + "]"
        items = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"dict keys must be strings, not {type(key).__name__}")
            items.append(f"{str.__repr__(key)}: {_python_literal(item, depth + 1)}")
        return "{" + ", ".join(items) + "}"
    raise TypeError(f"{type(value).__name__} values cannot be injected")


def _checked_names(spec: NotebookSpec, values: Mapping[str, Any]) -> list[Parameter]:
    """The declared parameters that ``values`` sets, in declaration order."""
    unknown = [name for name in values if not isinstance(name, str) or spec.parameter(name) is None]
    if unknown:
        raise InvalidParameters([_unknown(spec, str(name)) for name in unknown])
    chosen = [p for p in spec.parameters if p.name in values]
    for parameter in chosen:
        # Names come from the notebook's AST; re-checked because they are written into code.
        if not parameter.name.isidentifier() or keyword.iskeyword(parameter.name):
            raise ValueError(f"parameter name {parameter.name!r} is not an identifier")
    return chosen


def _safe_translator(translator: Any) -> Any:
    """Papermill's translator, hardened where its string literals are not inert."""
    from papermill.translators import JuliaTranslator, PowershellTranslator

    if issubclass(translator, JuliaTranslator):

        class SafeJulia(translator):
            @classmethod
            def translate_escaped_str(cls, str_val: Any) -> str:
                # Julia interpolates "$name" and "$(expr)" inside double-quoted strings.
                return str(super().translate_escaped_str(str_val)).replace("$", "\\$")

        return SafeJulia
    if issubclass(translator, PowershellTranslator):

        class SafePowershell(translator):
            @classmethod
            def translate_escaped_str(cls, str_val: Any) -> str:
                # Double-quoted PowerShell strings expand $(...) and backtick escapes; single-
                # quoted ones are verbatim, with quotes (including the typographic ones
                # PowerShell also accepts) doubled.
                text = str(str_val)
                for quote in "'\u2018\u2019\u201a\u201b":
                    text = text.replace(quote, quote * 2)
                return f"'{text}'"

        return SafePowershell
    return translator


def render_injected(spec: NotebookSpec, values: Mapping[str, Any]) -> str:
    """The source of the ``injected-parameters`` cell, papermill style.

    Only names declared in ``spec.parameters`` are written (anything else raises
    :class:`~notebook_restified.errors.InvalidParameters`), in declaration order, each with its
    value as a literal. Python gets exact literals (``repr`` of plain values, non-finite floats
    as ``float('nan')`` / ``float('inf')`` / ``-float('inf')``); other languages use
    papermill's translator for the kernel. Values must be plain JSON-like data (as
    :func:`coerce_query` and :func:`check_json` return); others raise :class:`TypeError`.
    """
    chosen = _checked_names(spec, values)
    if spec.is_python:
        lines = ["# Parameters"]
        lines += [f"{p.name} = {_python_literal(values[p.name])}" for p in chosen]
        return "\n".join(lines) + "\n"

    from papermill.exceptions import PapermillException
    from papermill.translators import papermill_translators

    try:
        translator = papermill_translators.find_translator(spec.kernel_name, spec.language)
    except PapermillException as exc:
        if not chosen:
            return ""
        raise InvalidNotebook(f"Parameters cannot be injected: {exc}") from None
    translator = _safe_translator(translator)
    ordered: dict[str, Any] = {}
    problems: list[dict[str, str]] = []
    for parameter in chosen:
        # The same plain-data rule as for Python (TypeError/ValueError otherwise); then plain
        # copies, so no subclass's __str__ reaches the translator.
        _python_literal(values[parameter.name])
        value = _plain(values[parameter.name])
        try:  # each value alone, so a failure names its parameter
            translator.codify({parameter.name: value})
        except NotImplementedError as exc:
            problems.append({"name": parameter.name, "problem": f"cannot be injected: {exc}"})
            continue
        ordered[parameter.name] = value
    if problems:
        raise InvalidParameters(problems)
    return str(translator.codify(ordered, comment="Parameters"))


def injected_cell(spec: NotebookSpec, values: Mapping[str, Any]) -> Any:
    """A new code cell (an nbformat ``NotebookNode``) tagged ``injected-parameters``.

    Its source is :func:`render_injected`; see there for what is accepted.
    """
    from nbformat import v4  # imported here: nbformat is slow to import, rarely needed

    new_code_cell: Any = v4.new_code_cell
    return new_code_cell(source=render_injected(spec, values), metadata={"tags": [TAG_INJECTED]})
