"""Turn a notebook's return value into strict JSON, a PNG, or CSV.

This module is also sent, as source text, into running kernels and exec'd there on its own
(any Python 3.9+), so it imports only the standard library and finds numpy, pandas,
matplotlib and PIL through ``sys.modules``: a value of one of their types means the library
is already imported, and a value of none of them never needs it.

Conversion rules of ``encode_result(value)["json"]`` (always valid for
``json.dumps(..., allow_nan=False)``):

=======================================  ====================================================
value                                    JSON
=======================================  ====================================================
None, bool, str, int                     as is (str/int subclasses and IntEnum: plain value)
int over 4300 digits                     hex string ``"0x..."`` (flagged ``repr``)
float, numpy floating, Fraction          number; NaN and +/-Infinity -> null
Decimal                                  number (nearest float); NaN/Infinity -> null;
                                         finite but beyond float range -> its str (``repr``)
complex                                  its repr ``"(1+2j)"`` (flagged ``repr``)
Enum member                              its ``.value``, converted
bytes, bytearray, memoryview             UTF-8 text if valid UTF-8, else standard base64
datetime, date, time, pandas.Timestamp   ISO 8601 ``isoformat()`` (naive stays naive)
numpy.datetime64                         ISO 8601 (``numpy.datetime_as_string``)
uuid.UUID, pathlib.PurePath              ``str(value)``: ``"12345678-..."``, ``"/a/b"``
timedelta, pandas.Timedelta,             total seconds as a number
numpy.timedelta64
NaT, pandas.NA                           null
pandas.Period                            its str, e.g. ``"2024-01"``
numpy bool_/integer/str_                 bool / int / str
numpy.ndarray                            nested lists of the converted elements
numpy structured scalar                  object keyed by field name
list, tuple, range, deque, Sequence      list
namedtuple, dataclass instance           object keyed by field name
set, frozenset, other Set                list, sorted when the elements sort, else as iterated
dict, other Mapping                      object; keys: str as is, None/True/False ->
                                         "null"/"true"/"false", numbers as JSON writes them
                                         (NaN -> "null"),
                                         dates ISO, anything else ``str(key)``; on a key
                                         collision the last value wins
pandas.DataFrame                         list of row objects keyed by column name (as keys
                                         above); the index is kept as leading column(s) (its
                                         name, else "index"/"level_N") when any level is
                                         named or its labels are not integers, and dropped
                                         for an unnamed integer index (default, filtered,
                                         sorted)
pandas.Series                            object keyed by the index labels (as keys above)
object with ``__json__()``,              the converted result of the first of these
``model_dump()``, ``to_dict()`` or
``tolist()`` (pandas Index, Categorical)
anything else (generators included)      ``repr(value)`` (flagged ``repr``)
a container inside itself                ``"<cycle: TYPE>"`` (flagged ``repr``)
nesting at ``MAX_DEPTH``                 a short ``reprlib`` string (flagged ``repr``)
=======================================  ====================================================

A matplotlib ``Figure``/``SubFigure``/``Axes`` (its whole figure), a PIL ``Image``, or any
object whose ``_repr_png_()`` gives PNG bytes (or their base64 text) is an image instead:
``kind`` "image", ``png`` set and ``json`` null. A DataFrame or Series is ``kind`` "table"
with ``csv`` holding the same columns as the JSON rows (a Series: its index, then its values
in a column named after the Series, or "value").
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import datetime
import decimal
import enum
import io
import json
import math
import numbers
import pathlib
import reprlib
import sys
import uuid
from collections.abc import Generator, Mapping, Sequence, Set, ValuesView
from typing import Any

__all__ = [
    "CSV_MEDIA",
    "JSON_MEDIA",
    "MAX_DEPTH",
    "PNG_MEDIA",
    "ResultTooLarge",
    "decode_png",
    "encode_parts",
    "encode_result",
    "json_bytes",
    "json_size",
    "to_json_text",
]

#: Containers nested this deep are stringified. Kept well under the interpreter's default
#: recursion limit because ``json.dumps``/``json.loads`` recurse once per level in C and share it.
MAX_DEPTH = 500

_MAX_INT_DIGITS = 4300  # Python's default int <-> str limit: json.loads would refuse more
_SAFE_INT_BITS = 14_000  # fewer bits than this always fit in _MAX_INT_DIGITS
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# A converter yields (child, depth) to have a child converted and receives the result.
_Work = Generator[tuple[object, int], object, object]
_ListWork = Generator[tuple[object, int], object, list[object]]


class _NotScalar:
    pass


_NOT_SCALAR = _NotScalar()

_short_repr = reprlib.Repr()
_short_repr.maxlevel = 3
_short_repr.maxother = 80


class ResultTooLarge(Exception):
    """The encoded result passed its size limit (bytes): encoding stopped there."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"the result is at least {size} bytes encoded, over the limit of {limit}")
        self.size = size
        """Bytes encoded when the limit was passed: a lower bound of the whole."""
        self.limit = limit


#: The media type of each form a result is encoded as.
JSON_MEDIA = "application/json"
CSV_MEDIA = "text/csv"
PNG_MEDIA = "image/png"


def encode_result(
    value: object,
    *,
    csv: bool = True,
    limit: int | None = None,
    media: Mapping[str, str | None] | None = None,
) -> dict[str, object]:
    """Encode a notebook's return value for the representations the endpoint can send.

    Returns a dict, itself strict-JSON serialisable, with the keys:

    - ``kind``: ``"image"``, ``"table"`` (DataFrame/Series) or ``"json"``;
    - ``json``: the value as strict JSON data (see the module docstring for the rules),
      ``None`` for an image;
    - ``png``: base64 PNG text for an image, else ``None``;
    - ``csv``: CSV text for a DataFrame or Series, else ``None`` (also ``None`` when
      ``csv=False``, which spares formatting a large table nobody asked for as CSV);
    - ``repr``: ``True`` when some part had no JSON form and became a string (its repr,
      a cycle or depth marker), so the caller can warn.

    ``media``: the one media type wanted for each kind of result (``{"json":
    "application/json", "table": "text/csv", "image": None}``; ``None`` for a kind the
    caller accepts in no form). Given, the value is encoded once, in the form wanted of its
    kind (``json`` or ``csv`` or ``png``, the others ``None``; nothing at all for a kind
    without one), and the dict says which in ``media``. Without it, every form of the
    value's kind is encoded (JSON, and CSV for a table).

    With ``limit`` (bytes), :class:`ResultTooLarge` is raised as soon as the encoded forms
    (the JSON text as the wire writes it, the PNG's base64, the CSV) pass it together: the
    size of a JSON value is counted without writing its text, and stops past the limit.

    Converting to JSON never raises: a part whose conversion fails becomes its repr. Errors
    while rendering a matplotlib figure or PIL image (e.g. bad mathtext) propagate.
    """
    encoded = _encode(value, csv=csv, limit=limit, media=media)
    png = encoded["png"]
    if isinstance(png, bytes):
        encoded["png"] = base64.b64encode(png).decode("ascii")
    return encoded


def encode_parts(
    value: object, *, limit: int | None = None, media: Mapping[str, str | None] | None = None
) -> tuple[dict[str, object], list[tuple[str, bytes]]]:
    """Encode the return value as :func:`encode_result` does, each form as the bytes that
    are sent: ``(result, parts)``, where ``result`` has ``kind``, ``repr`` (and ``media``
    when ``media`` is given) and ``parts`` lists ``("json" | "csv" | "png", bytes)``: the
    JSON text (UTF-8, as compact as the endpoint writes it), the CSV (UTF-8), the PNG."""
    encoded = _encode(value, csv=True, limit=limit, media=media, exact=True)
    parts: list[tuple[str, bytes]] = []
    if encoded["png"] is not None:
        parts.append(("png", encoded["png"]))  # type: ignore[arg-type]
    elif encoded["kind"] != "image" and (media is None or encoded.get("media") == JSON_MEDIA):
        parts.append(("json", json_bytes(encoded["json"])))
    if isinstance(encoded["csv"], str):
        parts.append(("csv", encoded["csv"].encode("utf-8", "surrogateescape")))
    size = sum(len(data) for _, data in parts)
    if limit is not None and size > limit:  # the bytes sent, exactly
        raise ResultTooLarge(size, limit)
    result = {k: v for k, v in encoded.items() if k not in ("json", "png", "csv")}
    return result, parts


def json_bytes(data: object) -> bytes:
    """The JSON text of converted ``data`` as UTF-8, as the endpoint sends it (non-ASCII
    characters as they are; a lone surrogate, which UTF-8 cannot hold, as an escape)."""
    text = json.dumps(data, allow_nan=False, ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(data, allow_nan=False).encode("ascii")


def _encode(
    value: object,
    *,
    csv: bool,
    limit: int | None,
    media: Mapping[str, str | None] | None,
    exact: bool = False,
) -> dict[str, object]:
    """:func:`encode_result`'s work, with the PNG as bytes. ``exact``: the caller measures
    the text it writes, so the JSON of plain data known to be about within ``limit`` is
    not measured here."""
    png = _png_bytes(value)
    if png is not None:
        wanted = media is None or media.get("image") == PNG_MEDIA
        if wanted and limit is not None and 4 * ((len(png) + 2) // 3) + 2 > limit:
            raise ResultTooLarge(4 * ((len(png) + 2) // 3) + 2, limit)
        encoded: dict[str, object] = {
            "kind": "image",
            "json": None,
            "png": png if wanted else None,
            "csv": None,
            "repr": False,
        }
        if media is not None:
            encoded["media"] = PNG_MEDIA if wanted else None
        return encoded
    table = _is_table(value)
    kind = "table" if table else "json"
    if media is None:
        want_json, want_csv = True, csv and table
    else:
        want_json, want_csv = media.get(kind) == JSON_MEDIA, table and media.get(kind) == CSV_MEDIA
    data: object = None
    used_repr = False
    size = 0
    if want_json:
        if limit is not None and isinstance(value, (str, bytes, bytearray)) and len(value) > limit:
            raise ResultTooLarge(len(value), limit)  # known before copying it
        encoder = _Encoder()
        data = encoder.encode(value)
        used_repr = encoder.used_repr
        bound = encoder.text_bound
        known = limit is None or (bound is not None and bound <= limit + (_SLACK if exact else 0))
        if not known and exact and type(data) is list:
            known = _fits(data, limit)  # type: ignore[arg-type]  # rows made of a table
        if limit is not None and not known:
            size = json_size(data, limit)
            if size > limit:
                raise ResultTooLarge(size, limit)
    csv_text = _csv_text(value) if want_csv else None
    if limit is not None and csv_text is not None:
        size += _str_size(csv_text, limit - size)
        if size > limit:
            raise ResultTooLarge(size, limit)
    encoded = {"kind": kind, "json": data, "png": None, "csv": csv_text, "repr": used_repr}
    if media is not None:
        chosen = media.get(kind)
        # A table whose CSV could not be written still has its JSON form to offer.
        if want_csv and csv_text is None:
            chosen = None
        encoded["media"] = chosen if (want_json or want_csv) else None
    return encoded


_FLAT_TYPES = frozenset((int, float, bool, type(None)))
_SLICE = 4096  # list items measured by the C encoder at a time
# Text the C encoder may write past the budget to measure plain items at once.
_SLACK = 1 << 20


class _Rest:
    """The items of a list from ``start`` on, still to be measured."""

    __slots__ = ("items", "start")

    def __init__(self, items: list[object], start: int) -> None:
        self.items = items
        self.start = start


def _str_size(text: str, budget: int) -> int:
    """Bytes of ``json.dumps(text)``; past ``budget`` only a lower bound (each character
    takes a byte at least), so a huge string is never escaped just to be refused."""
    if len(text) + 2 > budget:
        return len(text) + 2
    return len(json.dumps(text))


def json_size(data: object, limit: int) -> int:
    """Bytes of ``json.dumps(data)`` (default separators, ASCII: as the wire writes it), for
    JSON data (dicts with str keys, lists, str, int, float, bool, None); counting stops as
    soon as it passes ``limit``, and the count returned is then a lower bound."""
    total = 0
    stack: list[object] = [data]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, str):
            total += _str_size(item, limit - total)
        elif isinstance(item, dict):
            total += 2 + max(0, 4 * len(item) - 2)  # braces, ": " each, ", " between
            for key, child in item.items():
                total += _str_size(str(key), limit - total)
                stack.append(child)
        elif isinstance(item, list):
            total += 2 + max(0, 2 * len(item) - 2)  # brackets, ", " between
            stack.append(_Rest(item, 0))
        elif isinstance(item, _Rest):
            items, start = item.items, item.start
            chunk = items[start : start + _SLICE]
            if start + _SLICE < len(items):
                stack.append(_Rest(items, start + _SLICE))
            if set(map(type, chunk)) <= _FLAT_TYPES or _fits(chunk, limit - total):
                # numbers, or plain rows: the C encoder, a slice at once
                total += len(json.dumps(chunk)) - 2 - max(0, 2 * len(chunk) - 2)
            else:
                stack.extend(chunk)
        else:
            total += len(json.dumps(item))
    return total


def _fits(items: list[object], budget: int) -> bool:
    """Whether each item is plain (see :func:`_plain_data_bound`) and their text together is
    known to stay within ``budget`` (and a little more)."""
    total = 0
    for item in items:
        bound = _plain_data_bound(item)
        if bound is None:
            return False
        total += bound
        if total > budget + _SLACK:
            return False
    return True


def to_json_text(value: object) -> str:
    """Return the strict JSON text of ``value`` (``null`` for an image)."""
    return json.dumps(encode_result(value)["json"], allow_nan=False, ensure_ascii=False)


def decode_png(encoded: Mapping[str, object]) -> bytes | None:
    """Return the PNG bytes of an ``encode_result`` dict, or ``None`` if it is no image."""
    png = encoded.get("png")
    if isinstance(png, str):
        return base64.b64decode(png)
    return None


class _Encoder:
    """One conversion: walks the value with an explicit stack, so depth never recurses."""

    def __init__(self) -> None:
        self.used_repr = False
        self.text_bound: int | None = None
        """After :meth:`encode`: an upper bound of the bytes of the JSON text when the value
        was a scalar, plain data, or a list of them (a table's rows); else ``None``."""
        self._top_list = False  # the value is a list whose items are being bounded
        self._active: set[int] = set()  # ids of the containers being converted (cycles)
        self._np: Any = sys.modules.get("numpy")
        self._pd: Any = sys.modules.get("pandas")

    def encode(self, value: object) -> object:
        first = self._scalar_or_repr(value)
        if first is not _NOT_SCALAR:
            self.text_bound = _plain_data_bound(first)
            return first
        bound = _plain_data_bound(value)
        if bound is not None:
            self.text_bound = bound
            return value
        stack: list[tuple[_Work, object]] = [(self._compound(value, 0), value)]
        sent: object = None
        while True:
            work, current = stack[-1]
            try:
                child, depth = work.send(sent)
            except StopIteration as stop:
                sent = stop.value
            except Exception:
                sent = self._repr(current)
            else:
                sent = self._scalar_or_repr(child)
                if sent is _NOT_SCALAR:
                    stack.append((self._compound(child, depth), child))
                    sent = None
                continue
            stack.pop()
            if not stack:
                return sent

    def _flag(self, text: str) -> str:
        self.used_repr = True
        return text

    def _repr(self, value: object) -> str:
        try:
            text = repr(value)
        except Exception:
            text = f"<{type(value).__qualname__} object>"
        return self._flag(text)

    def _scalar_or_repr(self, value: object) -> object:
        try:
            return self._scalar(value)
        except Exception:
            return self._repr(value)

    def _scalar(self, value: object) -> object:
        """The JSON of a value that holds no other values, or ``_NOT_SCALAR``."""
        kind = type(value)
        if value is None or kind is bool or kind is str:
            return value
        if kind is float:
            return value if math.isfinite(value) else None  # type: ignore[arg-type]
        if kind is int:
            return self._int(value)  # type: ignore[arg-type]
        if isinstance(value, enum.Enum):
            return _NOT_SCALAR
        if isinstance(value, str):
            return str.__str__(value)
        if isinstance(value, (bytes, bytearray, memoryview)):
            return _bytes_text(bytes(value))
        pd = self._pd
        if isinstance(value, datetime.datetime):
            if pd is not None and value is pd.NaT:
                return None
            return value.isoformat()
        if isinstance(value, (datetime.date, datetime.time)):
            return value.isoformat()
        if isinstance(value, datetime.timedelta):
            return value.total_seconds()
        if isinstance(value, (uuid.UUID, pathlib.PurePath)):  # their text, as dates' ISO
            return str(value)
        np = self._np
        if np is not None and isinstance(value, np.generic):
            if isinstance(value, np.bool_):
                return bool(value)
            if isinstance(value, np.datetime64):
                return None if np.isnat(value) else str(np.datetime_as_string(value))
            if isinstance(value, np.timedelta64):
                if np.isnat(value):
                    return None
                try:
                    return float(value / np.timedelta64(1, "s"))
                except TypeError:  # years/months have no fixed length
                    return _NOT_SCALAR
        if pd is not None:
            if value is getattr(pd, "NA", _NOT_SCALAR):
                return None
            period = getattr(pd, "Period", None)
            if period is not None and isinstance(value, period):
                return str(value)
        if isinstance(value, decimal.Decimal):
            return self._real(value) if value.is_finite() else None
        if isinstance(value, numbers.Integral):
            return self._int(int(value))
        if isinstance(value, numbers.Real):
            return self._real(value)
        if isinstance(value, numbers.Complex):
            return self._flag(repr(complex(value)))
        return _NOT_SCALAR

    def _int(self, value: int) -> object:
        if value.bit_length() < _SAFE_INT_BITS:
            return value
        try:
            digits = len(str(abs(value)))
        except ValueError:  # over the interpreter's own int -> str limit
            digits = _MAX_INT_DIGITS + 1
        if digits <= _MAX_INT_DIGITS:
            return value
        return self._flag(hex(value))

    def _real(self, value: numbers.Real | decimal.Decimal) -> object:
        try:
            number = float(value)
        except (OverflowError, ValueError):
            return self._flag(str(value))
        if math.isfinite(number):
            return number
        if isinstance(value, decimal.Decimal) and value.is_finite():
            return self._flag(str(value))
        return None

    def _key(self, key: object) -> str:
        if isinstance(key, enum.Enum):
            key = key.value
        if isinstance(key, str):
            return str.__str__(key)
        out = self._scalar(key)
        if out is None or isinstance(out, bool):
            return json.dumps(out)
        if isinstance(out, str):
            return out
        if isinstance(out, (int, float)):
            return repr(out)
        return str(key)

    def _compound(self, value: object, depth: int) -> _Work:
        if id(value) in self._active:
            return self._flag(f"<cycle: {type(value).__name__}>")
        if depth >= MAX_DEPTH:
            try:
                text = _short_repr.repr(value)
            except Exception:
                text = f"<{type(value).__qualname__} object>"
            return self._flag(text)
        self._active.add(id(value))
        try:
            return (yield from self._dispatch(value, depth + 1))
        finally:
            self._active.discard(id(value))

    def _dispatch(self, value: object, depth: int) -> _Work:
        """Convert a container whose children live at ``depth``."""
        if isinstance(value, enum.Enum):
            return (yield (value.value, depth))
        pd = self._pd
        if pd is not None:
            if isinstance(value, pd.DataFrame):
                return (yield from self._frame(value, depth))
            if isinstance(value, pd.Series):
                return (yield from self._series(value, depth))
        np = self._np
        if np is not None:
            if isinstance(value, np.ndarray):
                return (yield from self._array(value, depth))
            if isinstance(value, np.generic):
                return (yield from self._numpy_scalar(value, depth))
        if isinstance(value, Mapping):
            mapping: dict[str, object] = {}
            for key, item in list(value.items()):
                mapping[self._key(key)] = yield from self._child(item, depth)
            return mapping
        if isinstance(value, tuple) and callable(getattr(value, "_asdict", None)):
            return (yield from self._fields(value, list(getattr(value, "_fields", ())), depth))
        if isinstance(value, (list, tuple, range, collections.deque, Sequence, ValuesView)):
            return (yield from self._list(value, depth))
        if isinstance(value, Set):
            try:
                ordered = sorted(value)
            except Exception:
                ordered = list(value)
            return (yield from self._list(ordered, depth))
        if isinstance(value, type):
            return self._repr(value)
        if dataclasses.is_dataclass(value):
            names = [field.name for field in dataclasses.fields(value)]
            return (yield from self._fields(value, names, depth))
        for method in ("__json__", "model_dump", "to_dict", "tolist"):
            if callable(getattr(type(value), method, None)):
                bound = getattr(value, method)
                converted = bound(mode="json") if method == "model_dump" else bound()
                return (yield (converted, depth))
        return self._repr(value)

    def _child(self, item: object, depth: int) -> _Work:
        # Converting scalars in place spares a round trip through the driver per element,
        # and a dict or list of plain values (a row) is its own JSON data.
        kind = type(item)
        out = _NOT_SCALAR if kind is dict or kind is list else self._scalar_or_repr(item)
        bound = None
        if out is _NOT_SCALAR:
            bound = _plain_data_bound(item) if depth + 1 < MAX_DEPTH else None
            if bound is None:
                self._top_list = self._top_list and depth > 1
                out = yield (item, depth)
            else:
                out = item
        elif self._top_list and depth == 1:
            bound = _plain_data_bound(out)
        if self._top_list and depth == 1 and self.text_bound is not None and bound is not None:
            self.text_bound += bound + 2
        return out

    def _list(self, items: Any, depth: int) -> _ListWork:
        if depth == 1:  # the value itself: its text is bounded by its items'
            self._top_list, self.text_bound = True, 2
        out: list[object] = []
        for item in items:
            out.append((yield from self._child(item, depth)))
        if depth == 1 and not self._top_list:
            self.text_bound = None
        return out

    def _fields(self, value: object, names: list[str], depth: int) -> _Work:
        out: dict[str, object] = {}
        for name in names:
            out[name] = yield (getattr(value, name), depth)
        return out

    def _array(self, array: Any, depth: int) -> _Work:
        if array.ndim == 0:
            return (yield (array[()], depth))
        if _is_plain(array.dtype) and depth + array.ndim <= MAX_DEPTH:
            return _plain_list(self._np, array)
        return (yield from self._list(array, depth))

    def _numpy_scalar(self, value: Any, depth: int) -> _Work:
        np = self._np
        names = value.dtype.names
        if isinstance(value, np.void) and names:
            out: dict[str, object] = {}
            for name in names:
                out[str(name)] = yield (value[name], depth)
            return out
        if isinstance(value, (np.datetime64, np.timedelta64)):
            return self._repr(value)
        item = value.item()
        if item is value:
            return self._repr(value)
        return (yield (item, depth))

    def _frame(self, frame: Any, depth: int) -> _Work:
        if _keeps_index(frame.index):
            frame = _reset_index(frame)
        columns = [self._key(column) for column in frame.columns]
        rows: list[dict[str, object]] = [{} for _ in range(len(frame))]
        for position, column in enumerate(columns):
            cells = yield from self._cells(frame.iloc[:, position], depth + 1)
            for row, cell in enumerate(cells):
                rows[row][column] = cell
        return rows

    def _series(self, series: Any, depth: int) -> _Work:
        keys = [self._key(label) for label in series.index.tolist()]
        cells = yield from self._cells(series, depth)
        out: dict[str, object] = {}
        for position, key in enumerate(keys):
            out[key] = cells[position]
        return out

    def _cells(self, series: Any, depth: int) -> _ListWork:
        dtype = series.dtype
        if isinstance(dtype, self._np.dtype) and _is_plain(dtype):
            return _plain_list(self._np, series.to_numpy())
        return (yield from self._list(series.tolist(), depth))


def _plain_data_bound(item: object, nested: bool = True) -> int | None:
    """For ``item`` that is its own JSON data, needing no conversion (str, bool, None, int
    of a safe size, finite float, or a dict (str keys) or list of them; with ``nested``, of
    such dicts and lists too): an upper bound of the bytes of its JSON text. Else ``None``."""
    kind = type(item)
    if kind is str:
        return 12 * len(item) + 2  # type: ignore[arg-type]  # at most two escapes each
    if kind is bool or item is None:
        return 5
    if kind is int:
        bits = item.bit_length()  # type: ignore[attr-defined]
        return bits // 3 + 2 if bits < _SAFE_INT_BITS else None
    if kind is float:
        return 32 if math.isfinite(item) else None  # type: ignore[arg-type]
    if kind is dict:
        total = 2
        for key, value in item.items():  # type: ignore[attr-defined]
            inner = _inner_bound(value, nested) if type(key) is str else None
            if inner is None:
                return None
            total += 12 * len(key) + 6 + inner
        return total
    if kind is list:
        total = 2
        for value in item:  # type: ignore[attr-defined]
            inner = _inner_bound(value, nested)
            if inner is None:
                return None
            total += inner + 2
        return total
    return None


def _inner_bound(value: object, nested: bool) -> int | None:
    """:func:`_plain_data_bound` of a value inside plain data (a container only if
    ``nested``, and then of scalars only)."""
    if not nested and (type(value) is dict or type(value) is list):
        return None
    return _plain_data_bound(value, False)


def _is_plain(dtype: Any) -> bool:
    """Whether ``tolist()`` of this numpy dtype gives Python bools, ints or floats."""
    return dtype.kind in "biu" or (dtype.kind == "f" and dtype.itemsize <= 8)


def _plain_list(np: Any, array: Any) -> list[object]:
    data: list[object] = array.tolist()
    if array.dtype.kind == "f" and not bool(np.isfinite(array).all()):
        data = [_nonfinite_to_none(item) for item in data]
    return data


def _nonfinite_to_none(data: object) -> object:
    # Recursion is bounded by numpy's own dimension limit (64).
    if isinstance(data, list):
        return [_nonfinite_to_none(item) for item in data]
    if isinstance(data, float) and not math.isfinite(data):
        return None
    return data


def _bytes_text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii")


def _keeps_index(index: Any) -> bool:
    if any(name is not None for name in index.names):
        return True
    kind = getattr(getattr(index, "dtype", None), "kind", "O")
    return kind not in "iu"


def _reset_index(frame: Any) -> Any:
    try:
        return frame.reset_index(allow_duplicates=True)
    except TypeError:  # pandas < 1.5
        return frame.reset_index()


def _is_table(value: object) -> bool:
    pd: Any = sys.modules.get("pandas")
    return pd is not None and isinstance(value, (pd.DataFrame, pd.Series))


def _csv_text(table: Any) -> str | None:
    try:
        if table.ndim == 1:  # a Series: its index is its keys, so always a column
            name = table.name if table.name is not None else "value"
            frame = _reset_index(table.to_frame(name=name))
        elif _keeps_index(table.index):
            frame = _reset_index(table)
        else:
            frame = table
        return str(frame.to_csv(index=False))
    except Exception:  # the JSON form still stands; CSV is a bonus
        return None


def _png_bytes(value: object) -> bytes | None:
    if isinstance(value, type):
        return None
    figure = _matplotlib_figure(value)
    if figure is not None:
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()
    pil: Any = sys.modules.get("PIL.Image")
    if pil is not None and isinstance(value, pil.Image):
        return _pil_png(value)
    if callable(getattr(type(value), "_repr_png_", None)):
        try:
            data = value._repr_png_()  # type: ignore[attr-defined]
        except Exception:
            return None
        return _as_png(data)
    return None


def _matplotlib_figure(value: object) -> Any:
    figure_module: Any = sys.modules.get("matplotlib.figure")
    if figure_module is None:
        return None
    figure_class = figure_module.Figure
    if isinstance(value, figure_class):
        return value
    parts: list[Any] = [getattr(figure_module, "SubFigure", None)]
    axes_module: Any = sys.modules.get("matplotlib.axes")
    if axes_module is not None:
        parts.append(axes_module.Axes)
    if not any(part is not None and isinstance(value, part) for part in parts):
        return None
    candidate: Any = value
    for _ in range(64):  # Axes -> SubFigure -> ... -> Figure
        candidate = getattr(candidate, "figure", None)
        if candidate is None or isinstance(candidate, figure_class):
            return candidate
    return None


def _pil_png(image: Any) -> bytes:
    buffer = io.BytesIO()
    try:
        image.save(buffer, format="PNG")
    except (OSError, ValueError, KeyError):  # modes PNG cannot hold, e.g. CMYK
        buffer = io.BytesIO()
        image.convert("RGBA").save(buffer, format="PNG")
    return buffer.getvalue()


def _as_png(data: object) -> bytes | None:
    if isinstance(data, (tuple, list)) and data:  # IPython allows (data, metadata)
        data = data[0]
    if isinstance(data, str):
        try:
            data = base64.b64decode("".join(data.split()), validate=True)
        except ValueError:
            return None
    if isinstance(data, (bytes, bytearray)) and bytes(data[:8]) == _PNG_SIGNATURE:
        return bytes(data)
    return None
