"""One value checked against its :class:`~notebook_restified.parameter_types.ValueType`.

Pure: no kernel, no server. A value arrives as JSON (a body), as text (a query string, a form
field, the CLI's ``-p``), or as a Python object (the Python API, a file part's bytes); what
leaves is the value the kernel gets, rebuilt from exact types (never subclasses): plain JSON
data, tuples, ``datetime.date``/``datetime``/``time``, ``pathlib.PurePosixPath`` (a
``pathlib.Path`` in the kernel) or ``bytes``. :func:`json_form` turns it back into JSON.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import math
import pathlib
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from .parameter_types import ANY, TYPE_WORDS, ValueType, json_kind, json_name

__all__ = [
    "MAX_DEPTH",
    "ValueProblem",
    "check_value",
    "coerce_text",
    "json_form",
    "plain_value",
    "reject_constant",
    "unmet_bounds",
]

MAX_DEPTH = 100
"""How deeply lists and dicts may nest in a value (Python's parser refuses ~200 brackets)."""

_MAX_ISO_TEXT = 64
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


# --------------------------------------------------------------------------------------------
# Plain JSON data


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


def reject_constant(name: str) -> Any:
    """``json.loads``'s ``parse_constant`` for strict JSON: ``NaN``, ``Infinity`` and
    ``-Infinity`` are no JSON values (:class:`ValueError`)."""
    raise ValueError(f"{name} is not a JSON value")


def parse_json(text: str) -> Any:
    """Strict JSON (no NaN/Infinity); :class:`ValueError` if it does not parse."""
    try:
        return json.loads(text, parse_constant=reject_constant)
    except RecursionError:
        raise ValueProblem(f"lists/objects nest more than {MAX_DEPTH} levels deep") from None


# --------------------------------------------------------------------------------------------
# Dates, times, paths, bytes


# A leap second (RFC 3339 allows `23:59:60`), which Python's dates do not hold.
_LEAP_SECOND = re.compile(r"(?<=:[0-5][0-9]:)60(?=$|[.,+Zz-])")


def _iso_text(value: Any, kind: str) -> str:
    """ISO 8601 text as Python reads it: a leap second is its second's last moment (59),
    and a lowercase ``t``/``z`` (RFC 3339 allows them) is read as uppercase."""
    if not isinstance(value, str):
        raise ValueProblem(f"expected {TYPE_WORDS[kind]}, got {json_name(value)}")
    text = str.__str__(value).strip(_WHITESPACE)
    if len(text) > _MAX_ISO_TEXT:
        raise ValueProblem(f"expected {TYPE_WORDS[kind]}, got {len(text)} characters of text")
    return _LEAP_SECOND.sub("59", text.upper())


def _offset(tzinfo: datetime.tzinfo | None, moment: Any) -> datetime.timezone | None:
    """A fixed-offset zone for ``tzinfo`` at ``moment`` (what ISO text can carry)."""
    if tzinfo is None:
        return None
    offset = tzinfo.utcoffset(moment)
    return None if offset is None else datetime.timezone(offset)


_Moment = TypeVar("_Moment", bound="datetime.date | datetime.time")


def _moment(kind: str, cls: type[_Moment], value: Any, build: Callable[[Any], _Moment]) -> _Moment:
    """A ``kind`` value (date, datetime, time) from ISO text or an object of ``cls``, made
    anew by ``build`` from its fields: what the value holds, never the caller's object (an
    object of a subclass may say anything; its fields that a date or time cannot hold are a
    problem)."""
    if not isinstance(value, cls):
        text = _iso_text(value, kind)
        try:
            value = cls.fromisoformat(text)
        except ValueError:
            raise ValueProblem(f"expected {TYPE_WORDS[kind]}, got {text!r}") from None
    try:
        return build(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueProblem(f"expected {TYPE_WORDS[kind]}, got a value that is not one") from None


def _date(value: Any) -> datetime.date:
    if isinstance(value, datetime.datetime):
        raise ValueProblem(f"expected {TYPE_WORDS['date']}, got a date and time")
    return _moment("date", datetime.date, value, lambda d: datetime.date(d.year, d.month, d.day))


def _datetime(value: Any) -> datetime.datetime:
    return _moment(
        "datetime",
        datetime.datetime,
        value,
        lambda m: datetime.datetime(
            m.year,
            m.month,
            m.day,
            m.hour,
            m.minute,
            m.second,
            m.microsecond,
            tzinfo=_offset(m.tzinfo, m),
        ),
    )


def _time(value: Any) -> datetime.time:
    return _moment(
        "time",
        datetime.time,
        value,
        lambda t: datetime.time(
            t.hour, t.minute, t.second, t.microsecond, tzinfo=_offset(t.tzinfo, None)
        ),
    )


def _path(value: Any) -> pathlib.PurePosixPath:
    if isinstance(value, pathlib.PurePath):
        return pathlib.PurePosixPath(pathlib.PurePath.__str__(value))
    if not isinstance(value, str):
        raise ValueProblem(f"expected {TYPE_WORDS['path']}, got {json_name(value)}")
    return pathlib.PurePosixPath(str.__str__(value))


def _bytes(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(memoryview(value))
    if not isinstance(value, str):
        raise ValueProblem(f"expected {TYPE_WORDS['bytes']}, got {json_name(value)}")
    try:
        return base64.b64decode(str.__str__(value).strip(_WHITESPACE), validate=True)
    except (binascii.Error, ValueError):
        raise ValueProblem("expected base64 text (or a file part of a multipart form)") from None


_CONVERTERS = {
    "date": _date,
    "datetime": _datetime,
    "time": _time,
    "path": _path,
    "bytes": _bytes,
}


# --------------------------------------------------------------------------------------------
# Checks


def _choice_text(choices: tuple[Any, ...]) -> str:
    return ", ".join(json.dumps(c) for c in choices)


def _check_choice(value_type: ValueType, value: Any) -> None:
    choices = value_type.choices
    if choices is None:
        return
    if not any(type(value) is type(choice) and value == choice for choice in choices):
        shown = json.dumps(value) if json_kind(value) in ("int", "float", "str", "bool") else ""
        got = f", got {shown}" if shown and len(shown) <= 80 else ""
        raise ValueProblem(f"expected one of {_choice_text(choices)}{got}")


def _number_text(number: float) -> str:
    return repr(number) if isinstance(number, float) and not number.is_integer() else f"{number:g}"


def _check_number(value_type: ValueType, value: float) -> None:
    # NaN fails every comparison, so a bounded parameter refuses it.
    if value_type.ge is not None and not value >= value_type.ge:
        raise ValueProblem(f"must be at least {_number_text(value_type.ge)}")
    if value_type.gt is not None and not value > value_type.gt:
        raise ValueProblem(f"must be greater than {_number_text(value_type.gt)}")
    if value_type.le is not None and not value <= value_type.le:
        raise ValueProblem(f"must be at most {_number_text(value_type.le)}")
    if value_type.lt is not None and not value < value_type.lt:
        raise ValueProblem(f"must be less than {_number_text(value_type.lt)}")
    step = value_type.multiple_of
    if step:
        if isinstance(value, int) and isinstance(step, int):
            ok = value % step == 0
        else:
            quotient = value / step
            ok = math.isfinite(quotient) and math.isclose(quotient, round(quotient))
        if not ok:
            raise ValueProblem(f"must be a multiple of {_number_text(step)}")


_UNITS = {"str": "character", "path": "character", "list": "item", "dict": "key", "bytes": "byte"}


def _check_length(value_type: ValueType, value: Any) -> None:
    length = len(str(value)) if value_type.kind == "path" else len(value)
    unit = _UNITS.get(value_type.kind, "item")
    low, high = value_type.min_length, value_type.max_length
    if low is not None and length < low:
        raise ValueProblem(f"must have at least {low} {unit}{'s' if low != 1 else ''}")
    if high is not None and length > high:
        raise ValueProblem(f"must have at most {high} {unit}{'s' if high != 1 else ''}")


def _check_bounds(value_type: ValueType, value: Any) -> None:
    if not value_type.has_bounds:
        return
    if value_type.kind in ("int", "float"):
        _check_number(value_type, value)
    elif value_type.kind in _UNITS:
        _check_length(value_type, value)


def _never_met_numbers(value_type: ValueType) -> str | None:
    lows = [(value_type.ge, True, "at least"), (value_type.gt, False, "greater than")]
    highs = [(value_type.le, True, "at most"), (value_type.lt, False, "less than")]
    for low, low_closed, low_words in lows:
        for high, high_closed, high_words in highs:
            if low is None or high is None:
                continue
            if value_type.kind == "int":  # the whole numbers each side lets in
                first = math.ceil(low) if low_closed else math.floor(low) + 1
                last = math.floor(high) if high_closed else math.ceil(high) - 1
                empty = first > last
            else:
                empty = low > high or (low == high and not (low_closed and high_closed))
            if empty:
                return f"{low_words} {_number_text(low)} and {high_words} {_number_text(high)}"
    return None


def _never_met_length(value_type: ValueType) -> str | None:
    low, high = value_type.min_length, value_type.max_length
    if high is None or high >= max(low or 0, 0):
        return None
    unit = _UNITS.get(value_type.kind, "item")
    most = f"at most {high} {unit}{'s' if high != 1 else ''}"
    return most if low is None else f"at least {low} {unit}{'s' if low != 1 else ''} and {most}"


def unmet_bounds(value_type: ValueType) -> str | None:
    """The bounds of ``value_type`` in words when no value can meet them all (``at least 10
    and at most 0``: a range written high to low), else ``None``; the bounds
    :func:`check_value` enforces, read the same way."""
    if not value_type.has_bounds:
        return None
    if value_type.kind in ("int", "float"):
        return _never_met_numbers(value_type)
    if value_type.kind in _UNITS:
        return _never_met_length(value_type)
    return None


def _element(value_type: ValueType, value: Any, depth: int, where: str) -> Any:
    try:
        return check_value(value_type, value, depth)
    except ValueProblem as exc:
        raise ValueProblem(f"{where}: {exc}") from None


def _list(value_type: ValueType, value: Any, depth: int) -> list[Any] | tuple[Any, ...]:
    if not isinstance(value, (list, tuple)):
        raise ValueProblem(f"expected {TYPE_WORDS['list']}, got {json_name(value)}")
    if depth >= MAX_DEPTH:
        raise ValueProblem(f"lists/objects nest more than {MAX_DEPTH} levels deep")
    if value_type.prefix is not None:
        if len(value) != len(value_type.prefix):
            count = len(value_type.prefix)
            raise ValueProblem(
                f"expected {count} item{'s' if count != 1 else ''}, got {len(value)}"
            )
        items = [
            _element(t, v, depth + 1, f"item {i}")
            for i, (t, v) in enumerate(zip(value_type.prefix, value, strict=True))
        ]
    elif value_type.items is not None:
        items = [_element(value_type.items, v, depth + 1, f"item {i}") for i, v in enumerate(value)]
    else:
        items = [plain_value(v, depth + 1) for v in value]
    return tuple(items) if value_type.is_tuple else items


def _dict(value_type: ValueType, value: Any, depth: int) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueProblem(f"expected {TYPE_WORDS['dict']}, got {json_name(value)}")
    if depth >= MAX_DEPTH:
        raise ValueProblem(f"lists/objects nest more than {MAX_DEPTH} levels deep")
    result: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise ValueProblem(f"object keys must be strings, not {json_name(key)}")
        if value_type.items is not None:
            checked = _element(value_type.items, item, depth + 1, f"key {key[:40]!r}")
        else:
            checked = plain_value(item, depth + 1)
        result[str.__str__(key)] = checked
    return result


def _scalar(kind: str, value: Any) -> Any:
    actual = json_kind(value)
    if kind == "int" and actual == "float" and math.isfinite(value) and value.is_integer():
        return int(float.__float__(value))  # 90.0 is an integer, as JSON Schema counts
    if kind == "float" and actual == "int":
        try:
            return float(int.__int__(value))
        except OverflowError:
            raise ValueProblem("the number is too large for a float") from None
    if actual != kind:
        raise ValueProblem(f"expected {TYPE_WORDS[kind]}, got {json_name(value)}")
    return plain_value(value)


def check_value(value_type: ValueType, value: Any, depth: int = 0) -> Any:
    """``value`` (JSON data, or a Python object of the type) checked against
    ``value_type`` and rebuilt as the value the kernel gets; :class:`ValueProblem` says
    what does not fit (an int is a valid float; ``None`` only where nullable)."""
    kind = value_type.kind
    if value is None:
        if value_type.admits_null:
            return None
        if value_type.choices is not None:
            raise ValueProblem(f"expected one of {_choice_text(value_type.choices)}, got null")
        raise ValueProblem(f"expected {TYPE_WORDS[kind]}, got null")
    checked: Any
    try:
        if kind == "list":
            checked = _list(value_type, value, depth)
        elif kind == "dict":
            checked = _dict(value_type, value, depth)
        elif kind == "any":
            checked = plain_value(value, depth)
        elif kind in _CONVERTERS:
            checked = _CONVERTERS[kind](value)
        else:
            checked = _scalar(kind, value)
    except ValueProblem:
        if value_type.choices is None:
            raise
        checked = value  # the choices say best what was expected
    _check_choice(value_type, checked)
    _check_bounds(value_type, checked)
    return checked


def _text_scalar(kind: str, text: str) -> Any:
    stripped = text.strip(_WHITESPACE)
    if kind == "int":
        if not _INT.fullmatch(stripped):
            if _FLOAT.fullmatch(stripped) and float(stripped).is_integer():
                return int(float(stripped))  # "90.0", "1e3": integers written as numbers
            raise ValueProblem(f"expected an integer, got {text!r}")
        try:
            return int(stripped)
        except ValueError:  # beyond sys.get_int_max_str_digits()
            raise ValueProblem("the integer has too many digits") from None
    if kind == "float":
        if not _FLOAT.fullmatch(stripped):
            raise ValueProblem(f"expected a number, got {text!r}")
        return float(stripped)
    try:
        return _BOOLS[stripped.lower()]
    except KeyError:
        raise ValueProblem(
            f"expected a boolean (true/false, yes/no, on/off, 1/0), got {text!r}"
        ) from None


def coerce_text(value_type: ValueType, text: str) -> Any:
    """One text value (a query string's, a form field's, the CLI's ``-p``) coerced to
    ``value_type`` and checked: numbers and booleans parsed, lists and dicts as JSON text,
    dates as ISO 8601, bytes as base64, ``null`` for a nullable parameter (not a string
    one, which takes the text); ``any`` takes JSON if it parses, else the text."""
    kind = value_type.kind
    if kind == "str":
        return check_value(value_type, text)  # even "null": text is what a str takes
    if value_type.nullable and text.strip(_WHITESPACE) == "null":  # as in a JSON body
        return None
    if kind in ("int", "float", "bool"):
        return check_value(value_type, _text_scalar(kind, text))
    if kind in _CONVERTERS:
        return check_value(value_type, text)
    if kind in ("list", "dict"):
        try:
            value = parse_json(text)
        except ValueError:
            raise ValueProblem(f"expected {TYPE_WORDS[kind]} as JSON text") from None
        if json_kind(value) != kind:
            raise ValueProblem(f"expected {TYPE_WORDS[kind]} as JSON text, got {json_name(value)}")
        return check_value(value_type, value)
    try:  # "any": JSON if it parses, else the text itself
        value = parse_json(text)
    except ValueError:
        value = text
    return check_value(value_type, value)


def coerce_fields(value_type: ValueType, texts: Sequence[str]) -> Any:
    """A form's fields of one list (or ``any``) parameter, as forms send an array: one
    field per element, each coerced to the element type like a query value; a single field
    holding a JSON array (or ``null``, where it is admitted) is the whole value instead. An
    ``any`` parameter given once is read as :func:`coerce_text` reads it."""
    if len(texts) == 1 and value_type.kind == "any":
        return coerce_text(value_type, texts[0])
    if len(texts) == 1:
        try:
            whole = parse_json(texts[0])
        except ValueError:
            pass  # not JSON: one element
        else:
            if isinstance(whole, list) or (whole is None and value_type.nullable):
                return check_value(value_type, whole)
    prefix = value_type.prefix
    elements = []
    for index, text in enumerate(texts):
        if prefix is not None:
            element_type = prefix[index] if index < len(prefix) else ANY
        else:
            element_type = value_type.items or ANY
        try:
            elements.append(coerce_text(element_type, text))
        except ValueProblem as exc:
            raise ValueProblem(f"item {index}: {exc}") from None
    return check_value(value_type, elements)


# --------------------------------------------------------------------------------------------
# Back to JSON


def json_form(value: Any, finite: bool = False) -> Any:
    """A checked value as JSON data: dates and times as ISO 8601 text, a path as its text,
    bytes as base64 text, tuples as lists; with ``finite``, a float that is not finite
    (a float parameter takes ``nan`` and ``inf`` as text) as the text ``NaN``, ``Infinity``
    or ``-Infinity``, which strict JSON can hold (run records)."""
    if finite and isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime.date, datetime.time)):  # datetime is a date
        return value.isoformat()
    if isinstance(value, pathlib.PurePath):
        return pathlib.PurePath.__str__(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (list, tuple)):
        return [json_form(v, finite) for v in value]
    if isinstance(value, Mapping):
        return {str(k): json_form(v, finite) for k, v in value.items()}
    raise TypeError(f"{type(value).__name__} values have no JSON form")
