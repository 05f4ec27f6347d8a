"""Write checked parameter values into the ``injected-parameters`` cell, papermill style.

Pure: no kernel, no server. The safety rule this module enforces: parameter *names* written
into code only ever come from :attr:`NotebookSpec.parameters` (identifiers read from the
notebook), and values are written only as literals of plain JSON types, so no request can
make the kernel run code it chooses.
"""

from __future__ import annotations

import keyword
import math
from collections.abc import Mapping
from typing import Any

from .declarations import Parameter
from .errors import InvalidNotebook, InvalidParameters
from .parameters import MAX_DEPTH, plain_value, unknown_parameter
from .spec import NotebookSpec
from .tags import TAG_INJECTED

__all__ = ["injected_cell", "render_injected"]


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
        value = plain_value(values[parameter.name])
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
