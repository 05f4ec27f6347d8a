"""Turn request values into checked parameter values: query text coerced, JSON checked.

Pure: no kernel, no server. What leaves here holds only declared names, each with the value
:mod:`notebook_restified.values` checked and rebuilt from exact types (never subclasses),
which :mod:`notebook_restified.inject` writes into the injected cell as literals. A name
given twice, wherever, is refused (:func:`merge_once`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from .errors import InvalidParameters, InvalidRequest
from .parameter_types import json_name
from .spec import RESERVED, NotebookSpec
from .values import (
    MAX_DEPTH,
    ValueProblem,
    check_value,
    coerce_fields,
    coerce_text,
    json_form,
    plain_value,
)

__all__ = [
    "MAX_DEPTH",
    "RESERVED",
    "ValueProblem",
    "check_json",
    "coerce_query",
    "json_values",
    "merge_once",
    "plain_value",
    "unknown_parameter",
]


def unknown_parameter(spec: NotebookSpec, name: str) -> dict[str, str]:
    """The ``{name, problem}`` detail for a name the notebook does not declare, listing the
    names it does (transport arguments left out)."""
    declared = [p.name for p in spec.parameters if p.name not in RESERVED]
    if declared:
        problem = f"unknown parameter; the parameters are: {', '.join(declared)}"
    else:
        problem = "unknown parameter; this notebook takes no parameters"
    return {"name": name, "problem": problem}


_FILE_NOT_BYTES = "a file was sent, but this parameter is not bytes"


def coerce_query(
    spec: NotebookSpec,
    query: Mapping[str, str | bytes | Sequence[str | bytes]],
    *,
    form: bool = False,
) -> dict[str, Any]:
    """Coerce query-string (or form) text to the declared parameter types.

    Each value may be a string or a sequence of strings (as a web framework collects
    repeated arguments); a name given more than once is a problem, except in a ``form``
    (a request body's fields), where a list (or ``any``) parameter's fields are its elements,
    as forms send arrays (see :func:`~notebook_restified.values.coerce_fields`). ``bytes`` stand for a
    multipart form's file part, which only a ``bytes`` parameter takes. :data:`RESERVED` names are
    dropped. Parameters that are not given are left out (they keep their defaults).

    Raises :class:`~notebook_restified.errors.InvalidParameters` listing every problem.
    """
    values: dict[str, Any] = {}
    problems: list[dict[str, str]] = []
    for name, raw in query.items():
        if name in RESERVED:
            continue
        texts = [raw] if isinstance(raw, (str, bytes)) else list(raw)
        if not texts:
            continue
        parameter = spec.parameter(name)
        if parameter is None:
            problems.append(unknown_parameter(spec, name))
            continue
        if form and parameter.value_type.kind in ("list", "any"):
            if any(not isinstance(text, str) for text in texts):
                problems.append({"name": name, "problem": _FILE_NOT_BYTES})
                continue
            try:
                values[name] = coerce_fields(parameter.value_type, cast("list[str]", texts))
            except ValueProblem as exc:
                problems.append({"name": name, "problem": str(exc)})
            continue
        if len(texts) > 1:
            problems.append({"name": name, "problem": "given more than once"})
            continue
        text = texts[0]
        if not isinstance(text, (str, bytes)):
            problems.append({"name": name, "problem": "the value is not text"})
            continue
        try:
            if isinstance(text, bytes):  # a file part of a multipart form
                if parameter.type != "bytes":
                    raise ValueProblem(_FILE_NOT_BYTES)
                values[name] = check_value(parameter.value_type, text)
            else:
                values[name] = coerce_text(parameter.value_type, text)
        except ValueProblem as exc:
            problems.append({"name": name, "problem": str(exc)})
    if problems:
        raise InvalidParameters(problems)
    return values


def check_json(spec: NotebookSpec, values: Mapping[str, Any]) -> dict[str, Any]:
    """Check the values of a JSON object body against the declared parameter types.

    ``int`` takes an integer (not a boolean); ``float`` an integer or a number (returned as
    a float); ``bool``, ``str``, ``list`` and ``dict`` their JSON kind, with element types,
    choices and bounds checked; ``any`` any JSON value; the dates ISO 8601 text, ``bytes``
    base64 text (or, from Python, objects of those types). ``None`` is accepted only by
    nullable parameters (default ``None``, type ``any``, or an ``Optional`` annotation).
    :data:`RESERVED` names are dropped. The result holds the values the kernel gets
    (see :func:`~notebook_restified.values.check_value`).

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
            checked[name] = check_value(parameter.value_type, value)
        except ValueProblem as exc:
            problems.append({"name": name, "problem": str(exc)})
    if problems:
        raise InvalidParameters(problems)
    return checked


def merge_once(*sources: Mapping[str, Any]) -> dict[str, Any]:
    """The values of several sources (a query and a body, a mapping and keywords, the CLI's
    options) as one mapping; a name given in more than one is a problem (the one rule for
    a parameter given twice, wherever it is given)."""
    merged: dict[str, Any] = {}
    twice: list[str] = []
    for source in sources:
        for name, value in source.items():
            if name in merged:
                twice.append(name)
            merged[name] = value
    if twice:
        raise InvalidParameters(
            [{"name": n, "problem": "given more than once"} for n in dict.fromkeys(twice)]
        )
    return merged


def json_values(values: Mapping[str, Any], finite: bool = False) -> dict[str, Any]:
    """Checked values as JSON data (``finite``: strict JSON, for run records): see
    :func:`~notebook_restified.values.json_form`."""
    return {name: json_form(value, finite) for name, value in values.items()}
