"""Write checked parameter values into the ``injected-parameters`` cell, papermill style.

Pure: no kernel, no server. The safety rule this module enforces: parameter *names* written
into code only ever come from :attr:`NotebookSpec.parameters` (identifiers read from the
notebook), and values are written only as literals of plain JSON types, so no request can
make the kernel run code it chooses.
"""

from __future__ import annotations

import datetime
import keyword
import math
import pathlib
from collections.abc import Mapping
from typing import Any

from .declarations import Parameter
from .errors import InvalidNotebook, InvalidParameters
from .parameters import MAX_DEPTH, unknown_parameter
from .spec import NotebookSpec
from .tags import TAG_INJECTED
from .values import ValueProblem, check_value, json_form, plain_value

__all__ = ["injected_cell", "render_injected", "typed_defaults"]


def _int(value: Any) -> str:
    """An exact int's literal (from the base class: no subclass's ``__repr__``)."""
    return int.__repr__(int.__int__(value))


def _zone(tzinfo: Any, moment: Any) -> str:
    """``, tzinfo=<fixed offset>`` for an aware date/time; ``""`` for a naive one."""
    if tzinfo is None:
        return ""
    offset = tzinfo.utcoffset(moment)
    if offset is None:
        return ""
    micros = _int(offset // datetime.timedelta(microseconds=1))
    return f", tzinfo={_DT}.timezone({_DT}.timedelta(microseconds={micros}))"


# The dates reach the kernel as constructor calls on the module itself, whatever the
# notebook binds to the name `datetime`.
_DT = "__import__('datetime')"


def _object_literal(value: Any) -> str:
    """A constructor call (or bytes literal) for the non-JSON values a parameter takes."""
    if isinstance(value, bytes):
        return bytes.__repr__(value)
    if isinstance(value, datetime.datetime):
        fields = ", ".join(
            _int(getattr(value, f))
            for f in ("year", "month", "day", "hour", "minute", "second", "microsecond")
        )
        return f"{_DT}.datetime({fields}{_zone(value.tzinfo, value)})"
    if isinstance(value, datetime.date):
        return f"{_DT}.date({_int(value.year)}, {_int(value.month)}, {_int(value.day)})"
    if isinstance(value, datetime.time):
        fields = ", ".join(
            _int(getattr(value, f)) for f in ("hour", "minute", "second", "microsecond")
        )
        return f"{_DT}.time({fields}{_zone(value.tzinfo, None)})"
    if isinstance(value, pathlib.PurePath):
        return f"__import__('pathlib').Path({str.__repr__(pathlib.PurePath.__str__(value))})"
    raise TypeError(f"{type(value).__name__} values cannot be injected")


def _python_literal(value: Any, depth: int = 0) -> str:
    """An exact Python literal for a checked value; nothing else is accepted: plain JSON
    data, tuples, and (as constructor calls) dates, times, paths, bytes."""
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
    if isinstance(value, (list, tuple, dict)):
        if depth >= MAX_DEPTH:
            raise ValueError(f"value nests more than {MAX_DEPTH} levels deep")
        if isinstance(value, list):
            return "[" + ", ".join(_python_literal(v, depth + 1) for v in value) + "]"
        if isinstance(value, tuple):
            items = [_python_literal(v, depth + 1) for v in value]
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        items = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"dict keys must be strings, not {type(key).__name__}")
            items.append(f"{str.__repr__(key)}: {_python_literal(item, depth + 1)}")
        return "{" + ", ".join(items) + "}"
    return _object_literal(value)


def _checked_names(spec: NotebookSpec, values: Mapping[str, Any]) -> list[Parameter]:
    """The declared parameters that ``values`` sets, in declaration order."""
    unknown = [name for name in values if not isinstance(name, str) or spec.parameter(name) is None]
    if unknown:
        raise InvalidParameters([unknown_parameter(spec, str(name)) for name in unknown])
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
    as ``float('nan')`` / ``float('inf')`` / ``-float('inf')``, dates and times as constructor
    calls with integer arguments, ``pathlib.Path('...')``, bytes literals); other languages use
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
        # The same rule as for Python (TypeError/ValueError otherwise); then plain JSON
        # copies (dates as ISO text), so no subclass's __str__ reaches the translator.
        raw = values[parameter.name]
        _python_literal(raw)
        if isinstance(raw, bytes):
            problems.append(
                {"name": parameter.name, "problem": "cannot be injected: bytes are for Python"}
            )
            continue
        value = plain_value(json_form(raw))
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


def typed_defaults(spec: NotebookSpec) -> str:
    """Source that gives the parameters' defaults their declared types, run once after the
    parameters cell: a date, time or path default written as text (``when: datetime.date =
    "2024-01-01"``) becomes the object, a tuple written as a list a tuple. Literals only, as
    for the injected cell; ``""`` when no default needs it (or the kernel is not Python)."""
    if not spec.is_python:
        return ""
    lines = []
    for parameter in spec.parameters:
        value_type = parameter.value_type
        if parameter.default is None:
            continue
        if value_type.kind not in ("date", "datetime", "time", "path") and not value_type.is_tuple:
            continue
        try:
            value = check_value(value_type, parameter.default)
        except ValueProblem:  # a default that does not fit: left as the cell wrote it (warned)
            continue
        lines.append(f"{parameter.name} = {_python_literal(value)}")
    return "\n".join(["# Typed defaults", *lines]) + "\n" if lines else ""
