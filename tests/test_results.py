from __future__ import annotations

import base64
import collections
import dataclasses
import datetime
import decimal
import enum
import fractions
import io
import json
import math
import subprocess
import sys
import uuid
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, NamedTuple

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from PIL import Image

from notebook_restified.kernelside import encoder as results
from notebook_restified.kernelside.encoder import MAX_DEPTH, decode_png, encode_result, to_json_text

matplotlib.use("Agg")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def encode(value: object) -> dict[str, object]:
    """encode_result, checking the invariants every result must keep."""
    result = encode_result(value)
    assert list(result) == ["kind", "json", "png", "csv", "repr"]
    json.dumps(result, allow_nan=False)
    return result


def as_json(value: object) -> object:
    result = encode(value)
    assert result["kind"] in ("json", "table")
    assert result["png"] is None
    return result["json"]


def png_image(result: dict[str, object]) -> Image.Image:
    assert result["kind"] == "image"
    assert result["json"] is None
    assert result["csv"] is None
    assert result["repr"] is False
    data = decode_png(result)
    assert data is not None
    assert data.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "PNG"
    return image


def depth_of(data: object) -> int:
    depth = 0
    while isinstance(data, (list, dict)) and data:
        data = data[0] if isinstance(data, list) else next(iter(data.values()))
        depth += 1
    return depth


class Color(enum.Enum):
    RED = "red"
    BLUE = (0, 0, 255)


class Level(enum.IntEnum):
    HIGH = 3


class Mode(str, enum.Enum):
    FAST = "fast"


class Point(NamedTuple):
    x: int
    y: float


@dataclasses.dataclass
class Inner:
    when: datetime.date
    tags: set[str]


@dataclasses.dataclass
class Outer:
    name: str
    inner: Inner
    scores: tuple[float, ...]


# --- plain Python values ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (True, True),
        (False, False),
        (0, 0),
        (-42, -42),
        (2**100, 2**100),
        (-(2**200), -(2**200)),
        ("text", "text"),
        ("ünï©ødé ✓", "ünï©ødé ✓"),
        (1.5, 1.5),
        (-0.0, -0.0),
        (float("nan"), None),
        (float("inf"), None),
        (float("-inf"), None),
        (Level.HIGH, 3),
        (Mode.FAST, "fast"),
        (Color.RED, "red"),
        (Color.BLUE, [0, 0, 255]),
        (decimal.Decimal("1.25"), 1.25),
        (decimal.Decimal("-3"), -3.0),
        (decimal.Decimal("NaN"), None),
        (decimal.Decimal("sNaN"), None),
        (decimal.Decimal("-Infinity"), None),
        (fractions.Fraction(1, 4), 0.25),
        (b"plain ascii", "plain ascii"),
        ("é".encode(), "é"),
        (b"\xff\x00\xfe", "/wD+"),
        (bytearray(b"abc"), "abc"),
        (memoryview(b"xyz"), "xyz"),
        (datetime.datetime(2024, 3, 1, 12, 30, 5, 250), "2024-03-01T12:30:05.000250"),
        (
            datetime.datetime(2024, 3, 1, 12, 30, tzinfo=datetime.timezone.utc),
            "2024-03-01T12:30:00+00:00",
        ),
        (datetime.date(2024, 2, 29), "2024-02-29"),
        (datetime.time(7, 5, 3), "07:05:03"),
        (datetime.timedelta(days=1, seconds=1, microseconds=500_000), 86401.5),
        (datetime.timedelta(seconds=-90), -90.0),
        (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
        (PurePosixPath("/a/b"), "/a/b"),
        (Path("/a"), "/a"),
        (PureWindowsPath("C:/a"), "C:\\a"),
        ((1, "a", None), [1, "a", None]),
        ([], []),
        ({}, {}),
        (range(3), [0, 1, 2]),
        (collections.deque([3, 1]), [3, 1]),
        ({3, 1, 2}, [1, 2, 3]),
        (frozenset({"b", "a"}), ["a", "b"]),
        ({"b": 1, "a": 2}.keys(), ["a", "b"]),
        ({"b": 1, "a": 2}.values(), [1, 2]),
        (collections.OrderedDict([("z", 1), ("y", (2, 3))]), {"z": 1, "y": [2, 3]}),
        (Point(1, 2.5), {"x": 1, "y": 2.5}),
    ],
)
def test_plain_values(value: object, expected: object) -> None:
    result = encode(value)
    assert result == {"kind": "json", "json": expected, "png": None, "csv": None, "repr": False}
    if isinstance(expected, float):
        assert math.copysign(1.0, result["json"]) == math.copysign(1.0, expected)  # type: ignore[arg-type]


def test_json_values_have_plain_python_types() -> None:
    data = as_json([Level.HIGH, Mode.FAST, np.int64(3), np.float32(0.5), np.bool_(True)])
    assert isinstance(data, list)
    assert [type(item) for item in data] == [int, str, int, float, bool]


def test_dict_keys_are_converted_like_json_does() -> None:
    value = {
        "s": 0,
        1: 1,
        2.5: 2,
        None: 3,
        False: 4,
        (1, "a"): 5,
        datetime.date(2024, 1, 2): 6,
        b"k": 7,
        Color.RED: 8,
        Mode.FAST: 9,
        np.int64(7): 10,
    }
    assert as_json(value) == {
        "s": 0,
        "1": 1,
        "2.5": 2,
        "null": 3,
        "false": 4,
        "(1, 'a')": 5,
        "2024-01-02": 6,
        "k": 7,
        "red": 8,
        "fast": 9,
        "7": 10,
    }
    assert as_json({np.bool_(True): 1, np.float64(0.5): 2}) == {"true": 1, "0.5": 2}


def test_colliding_keys_keep_the_last_value() -> None:
    assert as_json({1: "int", "1": "str"}) == {"1": "str"}


def test_unsortable_set_keeps_every_element() -> None:
    data = as_json({1, "a", None})
    assert isinstance(data, list)
    assert sorted(data, key=repr) == sorted([1, "a", None], key=repr)


def test_set_of_tuples_is_sorted() -> None:
    assert as_json({(2, "b"), (1, "z"), (1, "a")}) == [[1, "a"], [1, "z"], [2, "b"]]


def test_dataclasses_become_objects() -> None:
    value = Outer("n", Inner(datetime.date(2024, 5, 6), {"y", "x"}), (1.0, float("nan")))
    assert as_json(value) == {
        "name": "n",
        "inner": {"when": "2024-05-06", "tags": ["x", "y"]},
        "scores": [1.0, None],
    }


def test_dataclass_class_itself_is_a_repr() -> None:
    result = encode(Outer)
    assert result["json"] == repr(Outer)
    assert result["repr"] is True


def test_huge_int_over_the_digit_limit_becomes_hex() -> None:
    value = 7**6000  # over 5000 decimal digits
    result = encode(value)
    assert result["json"] == hex(value)
    assert result["repr"] is True
    assert as_json(10**4299) == 10**4299


def test_decimal_beyond_float_range_is_its_text() -> None:
    result = encode([decimal.Decimal("1e400"), fractions.Fraction(10**400, 3)])
    assert result["json"] == ["1E+400", str(fractions.Fraction(10**400, 3))]
    assert result["repr"] is True


def test_complex_is_its_repr() -> None:
    result = encode([1 + 2j, np.complex128(0.5 - 1j)])
    assert result["json"] == ["(1+2j)", "(0.5-1j)"]
    assert result["repr"] is True


def test_unknown_objects_become_their_repr() -> None:
    class Thing:
        def __repr__(self) -> str:
            return "<Thing 1>"

    result = encode({"thing": Thing(), "n": 1})
    assert result["json"] == {"thing": "<Thing 1>", "n": 1}
    assert result["repr"] is True


def test_a_failing_repr_still_gives_a_string() -> None:
    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    result = encode([Broken()])
    assert result["json"] == ["<test_a_failing_repr_still_gives_a_string.<locals>.Broken object>"]
    assert result["repr"] is True


def test_generators_are_not_consumed() -> None:
    def numbers() -> Any:
        yield 1

    generator = numbers()
    result = encode(generator)
    assert result["json"] == repr(generator)
    assert result["repr"] is True
    assert next(generator) == 1


def test_duck_typed_conversions() -> None:
    class WithJson:
        def __json__(self) -> object:
            return {"kind": "json", "at": datetime.date(2024, 1, 1)}

        def to_dict(self) -> object:
            raise AssertionError("__json__ comes first")

    class WithDict:
        def to_dict(self) -> object:
            return {"a": (1, 2)}

    class WithList:
        def tolist(self) -> object:
            return [1.0, float("inf")]

    class Model:
        def model_dump(self, mode: str = "python") -> object:
            return {"mode": mode}

    assert as_json([WithJson(), WithDict(), WithList(), Model()]) == [
        {"kind": "json", "at": "2024-01-01"},
        {"a": [1, 2]},
        [1.0, None],
        {"mode": "json"},
    ]


def test_a_failing_conversion_becomes_the_repr() -> None:
    class Fails:
        def to_dict(self) -> object:
            raise ValueError("boom")

        def __repr__(self) -> str:
            return "Fails()"

    result = encode([1, Fails(), 2])
    assert result["json"] == [1, "Fails()", 2]
    assert result["repr"] is True


def test_attributes_from_getattr_are_not_duck_typed() -> None:
    class Anything:
        def __getattr__(self, name: str) -> object:
            return lambda *args, **kwargs: {"fake": name}

        def __repr__(self) -> str:
            return "Anything()"

    result = encode(Anything())
    assert result["json"] == "Anything()"
    assert result["kind"] == "json"


# --- cycles and depth ---------------------------------------------------------------------


def test_a_list_containing_itself() -> None:
    value: list[object] = [1]
    value.append(value)
    result = encode(value)
    assert result["json"] == [1, "<cycle: list>"]
    assert result["repr"] is True


def test_a_dict_cycle_through_a_dataclass() -> None:
    @dataclasses.dataclass
    class Node:
        child: object

    outer: dict[str, object] = {}
    outer["node"] = Node(child=outer)
    result = encode(outer)
    assert result["json"] == {"node": {"child": "<cycle: dict>"}}


def test_a_shared_reference_is_no_cycle() -> None:
    shared = [1, 2]
    result = encode({"a": shared, "b": [shared, shared]})
    assert result["json"] == {"a": [1, 2], "b": [[1, 2], [1, 2]]}
    assert result["repr"] is False


def test_an_object_array_containing_itself() -> None:
    array = np.empty(2, dtype=object)
    array[0] = 1
    array[1] = array
    assert as_json(array) == [1, "<cycle: ndarray>"]


def test_deep_nesting_is_cut_at_max_depth() -> None:
    value: object = "leaf"
    for _ in range(20_000):
        value = [value]
    result = encode(value)
    assert result["repr"] is True
    data = result["json"]
    assert depth_of(data) == MAX_DEPTH
    tail = data
    for _ in range(MAX_DEPTH):
        tail = tail[0]  # type: ignore[index]
    assert tail == "[[[[...]]]]"
    json.loads(to_json_text(value))


def test_deep_dicts_and_mixed_nesting() -> None:
    value: object = 0
    for level in range(3000):
        value = {"k": value} if level % 2 else (value,)
    result = encode(value)
    assert result["repr"] is True
    assert depth_of(result["json"]) == MAX_DEPTH


def test_endless_conversions_stop_at_max_depth() -> None:
    class Again:
        def to_dict(self) -> object:
            return Again()

        def __repr__(self) -> str:
            return "Again()"

    result = encode(Again())
    assert result["json"] == "Again()"
    assert result["repr"] is True


# --- numpy --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (np.int8(-3), -3),
        (np.uint64(2**64 - 1), 2**64 - 1),
        (np.float16(0.5), 0.5),
        (np.float32(0.25), 0.25),
        (np.float64("nan"), None),
        (np.float64("-inf"), None),
        (np.longdouble(1.5), 1.5),
        (np.bool_(False), False),
        (np.str_("s"), "s"),
        (np.bytes_(b"b"), "b"),
        (np.datetime64("2024-01-31"), "2024-01-31"),
        (np.datetime64("2024-01-31T10:20:30.123456789", "ns"), "2024-01-31T10:20:30.123456789"),
        (np.datetime64("NaT"), None),
        (np.timedelta64(1500, "ms"), 1.5),
        (np.timedelta64(2, "D"), 172800.0),
        (np.timedelta64("NaT"), None),
        (np.array(7), 7),
        (np.array([], dtype=float), []),
        (np.zeros((2, 0)), [[], []]),
        (np.arange(6, dtype=np.int32).reshape(2, 3), [[0, 1, 2], [3, 4, 5]]),
        (np.array([[1.5, np.nan], [np.inf, -np.inf]]), [[1.5, None], [None, None]]),
        (np.array([True, False]), [True, False]),
        (np.array([0.5], dtype=np.float16), [0.5]),
        (np.array([2**63], dtype=np.uint64), [2**63]),
        (np.array([1.5, np.nan], dtype=np.longdouble), [1.5, None]),
        (np.array(["a", "bc"]), ["a", "bc"]),
        (
            np.array(["2024-01-01", "NaT"], dtype="datetime64[s]"),
            ["2024-01-01T00:00:00", None],
        ),
        (np.array([1, 2], dtype="timedelta64[m]"), [60.0, 120.0]),
        (np.array([1, "x", None, {"a": np.nan}], dtype=object), [1, "x", None, {"a": None}]),
        (
            np.array([(1, 2.5), (3, np.nan)], dtype=[("id", "i4"), ("v", "f8")]),
            [{"id": 1, "v": 2.5}, {"id": 3, "v": None}],
        ),
        (np.ma.masked_array([1.0, 2.0, np.nan], mask=[False, True, False]), [1.0, None, None]),
    ],
)
def test_numpy(value: object, expected: object) -> None:
    result = encode(value)
    assert result == {"kind": "json", "json": expected, "png": None, "csv": None, "repr": False}


def test_numpy_month_durations_have_no_seconds() -> None:
    result = encode(np.timedelta64(3, "M"))
    assert result["json"] == repr(np.timedelta64(3, "M"))
    assert result["repr"] is True


# --- pandas -------------------------------------------------------------------------------


def sample_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "n": [1, 2, 3],
            "x": [0.5, np.nan, np.inf],
            "s": ["a", None, "c"],
            "t": pd.to_datetime(["2024-01-01", None, "2024-01-03 04:05:06"], format="ISO8601"),
            "d": pd.to_timedelta(["1s", "1500ms", None]),
            "i": pd.array([1, None, 3], dtype="Int64"),
            "c": pd.Categorical(["u", "v", "u"]),
        }
    )


def test_dataframe_records_with_default_index() -> None:
    result = encode(sample_frame())
    assert result["kind"] == "table"
    assert result["repr"] is False
    assert result["json"] == [
        {
            "n": 1,
            "x": 0.5,
            "s": "a",
            "t": "2024-01-01T00:00:00",
            "d": 1.0,
            "i": 1,
            "c": "u",
        },
        {"n": 2, "x": None, "s": None, "t": None, "d": 1.5, "i": None, "c": "v"},
        {
            "n": 3,
            "x": None,
            "s": "c",
            "t": "2024-01-03T04:05:06",
            "d": None,
            "i": 3,
            "c": "u",
        },
    ]


def test_dataframe_csv_parses_back() -> None:
    frame = pd.DataFrame({"a": [1, 2, 3], "b": [0.5, np.nan, 2.0], "c": ["x", "y", "z"]})
    csv_text = encode(frame)["csv"]
    assert isinstance(csv_text, str)
    assert csv_text.splitlines()[0] == "a,b,c"
    pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(csv_text)), frame)


def test_dataframe_filtered_integer_index_is_dropped() -> None:
    frame = pd.DataFrame({"a": [1, 2, 3, 4]})
    filtered = frame[frame["a"] % 2 == 0]
    result = encode(filtered)
    assert result["json"] == [{"a": 2}, {"a": 4}]
    assert result["csv"] == "a\n2\n4\n"


def test_dataframe_named_index_is_a_column() -> None:
    frame = pd.DataFrame({"v": [1.5, 2.5]}, index=pd.Index([10, 20], name="id"))
    result = encode(frame)
    assert result["json"] == [{"id": 10, "v": 1.5}, {"id": 20, "v": 2.5}]
    csv_text = result["csv"]
    assert isinstance(csv_text, str)
    pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(csv_text)), frame.reset_index())


def test_dataframe_unnamed_label_index_is_a_column() -> None:
    frame = pd.DataFrame({"v": [1, 2]}, index=["a", "b"])
    result = encode(frame)
    assert result["json"] == [{"index": "a", "v": 1}, {"index": "b", "v": 2}]
    assert result["csv"] == "index,v\na,1\nb,2\n"


def test_dataframe_datetime_index_and_groupby() -> None:
    frame = pd.DataFrame(
        {"k": ["a", "b", "a"], "v": [1, 2, 3]},
        index=pd.date_range("2024-01-01", periods=3, freq="D"),
    )
    assert encode(frame)["json"] == [
        {"index": "2024-01-01T00:00:00", "k": "a", "v": 1},
        {"index": "2024-01-02T00:00:00", "k": "b", "v": 2},
        {"index": "2024-01-03T00:00:00", "k": "a", "v": 3},
    ]
    summary = frame.groupby("k").agg(total=("v", "sum"), mean=("v", "mean"))
    result = encode(summary)
    assert result["json"] == [
        {"k": "a", "total": 4, "mean": 2.0},
        {"k": "b", "total": 2, "mean": 2.0},
    ]
    csv_text = result["csv"]
    assert isinstance(csv_text, str)
    pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(csv_text)), summary.reset_index())


def test_dataframe_multiindex_rows_and_columns() -> None:
    frame = pd.DataFrame(
        {"v": [1, 2]}, index=pd.MultiIndex.from_tuples([("a", 1), ("b", 2)], names=["k", "n"])
    )
    assert as_json(frame) == [{"k": "a", "n": 1, "v": 1}, {"k": "b", "n": 2, "v": 2}]
    wide = pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")]))
    assert as_json(wide) == [{"('a', 'x')": 1, "('a', 'y')": 2}]


def test_dataframe_non_string_columns_and_clashing_index_name() -> None:
    assert as_json(pd.DataFrame([[1, 2]], columns=[0, "b"])) == [{"0": 1, "b": 2}]
    assert as_json(pd.DataFrame([[1, 2]], columns=[0, 1.5])) == [{"0.0": 1, "1.5": 2}]
    clash = pd.DataFrame({"a": [1]}, index=pd.Index(["x"], name="a"))
    assert as_json(clash) == [{"a": 1}]  # same name: the column, which comes last, wins


def test_dataframe_with_object_cells() -> None:
    frame = pd.DataFrame({"obj": [[1, np.nan], {"k": (1, 2)}, np.arange(2)]})
    assert as_json(frame) == [{"obj": [1, None]}, {"obj": {"k": [1, 2]}}, {"obj": [0, 1]}]


def test_empty_dataframe() -> None:
    result = encode(pd.DataFrame({"a": pd.Series([], dtype=float)}))
    assert result["json"] == []
    assert result["csv"] == "a\n"
    assert result["kind"] == "table"


def test_series_is_keyed_by_its_index() -> None:
    series = pd.Series([1.5, np.nan, 3.0], index=["a", "b", "c"], name="price")
    result = encode(series)
    assert result["kind"] == "table"
    assert result["json"] == {"a": 1.5, "b": None, "c": 3.0}
    csv_text = result["csv"]
    assert csv_text == "index,price\na,1.5\nb,\nc,3.0\n"
    parsed = pd.read_csv(io.StringIO(csv_text), index_col="index")
    pd.testing.assert_series_equal(parsed["price"], series, check_names=False)


def test_series_default_index_and_dates() -> None:
    assert encode(pd.Series([3, 4]))["json"] == {"0": 3, "1": 4}
    assert encode(pd.Series([3, 4]))["csv"] == "index,value\n0,3\n1,4\n"
    dated = pd.Series(
        [1, 2], index=pd.DatetimeIndex(["2024-01-01", "2024-01-02 12:00"], name="day")
    )
    result = encode(dated)
    assert result["json"] == {"2024-01-01T00:00:00": 1, "2024-01-02T12:00:00": 2}
    assert result["csv"] == "day,value\n2024-01-01 00:00:00,1\n2024-01-02 12:00:00,2\n"


def test_series_groupby_result() -> None:
    frame = pd.DataFrame({"k": ["b", "a", "b"], "v": [1, 2, 3]})
    result = encode(frame.groupby("k")["v"].sum())
    assert result["json"] == {"a": 2, "b": 4}
    assert result["csv"] == "k,v\na,2\nb,4\n"


def test_pandas_values_inside_containers_are_json_only() -> None:
    frame = pd.DataFrame({"a": [1]})
    result = encode({"frame": frame, "series": frame["a"], "index": frame.index})
    assert result == {
        "kind": "json",
        "json": {"frame": [{"a": 1}], "series": {"0": 1}, "index": [0]},
        "png": None,
        "csv": None,
        "repr": False,
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (pd.Timestamp("2024-05-06 07:08:09.000000001"), "2024-05-06T07:08:09.000000001"),
        (pd.Timestamp("2024-05-06", tz="Europe/Paris"), "2024-05-06T00:00:00+02:00"),
        (pd.Timedelta("1 day 2s"), 86402.0),
        (pd.NaT, None),
        (pd.NA, None),
        (pd.Period("2024-01", freq="M"), "2024-01"),
        (pd.Index(["a", "b"]), ["a", "b"]),
        (pd.DatetimeIndex(["2024-01-01"]), ["2024-01-01T00:00:00"]),
        (pd.Categorical(["x", "y", "x"]), ["x", "y", "x"]),
        (pd.array([1, None], dtype="Int64"), [1, None]),
    ],
)
def test_pandas_scalars_and_arrays(value: object, expected: object) -> None:
    result = encode(value)
    assert result == {"kind": "json", "json": expected, "png": None, "csv": None, "repr": False}


def test_csv_can_be_skipped() -> None:
    result = encode_result(pd.DataFrame({"a": [1]}), csv=False)
    assert result == {
        "kind": "table",
        "json": [{"a": 1}],
        "png": None,
        "csv": None,
        "repr": False,
    }


# --- images -------------------------------------------------------------------------------


def test_matplotlib_figure() -> None:
    figure = Figure(figsize=(2, 1), dpi=50)
    figure.add_subplot().plot([1, 2, 3])
    image = png_image(encode(figure))
    assert image.width > 10
    assert image.height > 10


def test_pyplot_figure_and_axes() -> None:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(3, 2), dpi=40)
    try:
        axes.bar(["a", "b"], [1, 2])
        from_figure = png_image(encode(figure))
        from_axes = png_image(encode(axes))
        assert from_figure.size == from_axes.size
    finally:
        plt.close(figure)


def test_axes_in_a_subfigure_render_the_whole_figure() -> None:
    figure = Figure(figsize=(4, 2), dpi=30)
    left = figure.add_subfigure(figure.add_gridspec(1, 2)[0])
    axes = left.add_subplot()
    axes.plot([0, 1])
    assert png_image(encode(axes)).size == png_image(encode(figure)).size
    assert png_image(encode(left)).size == png_image(encode(figure)).size


def test_pil_images() -> None:
    rgb = Image.new("RGB", (7, 5), (255, 0, 0))
    decoded = png_image(encode(rgb))
    assert decoded.size == (7, 5)
    assert decoded.convert("RGB").getpixel((3, 2)) == (255, 0, 0)
    cmyk = Image.new("CMYK", (4, 3), (0, 255, 255, 0))  # PNG cannot hold CMYK as is
    decoded = png_image(encode(cmyk))
    assert decoded.size == (4, 3)
    assert decoded.convert("RGB").getpixel((0, 0)) == (255, 0, 0)


def png_bytes(size: tuple[int, int] = (3, 2)) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", size, 128).save(buffer, format="PNG")
    return buffer.getvalue()


class Rich:
    def __init__(self, data: object) -> None:
        self.data = data

    def _repr_png_(self) -> object:
        return self.data

    def to_dict(self) -> object:
        return {"rich": True}


@pytest.mark.parametrize(
    "data",
    [
        png_bytes(),
        base64.b64encode(png_bytes()).decode("ascii"),
        base64.encodebytes(png_bytes()).decode("ascii"),
        (png_bytes(), {"width": 3}),
    ],
    ids=["bytes", "base64", "base64-lines", "with-metadata"],
)
def test_repr_png(data: object) -> None:
    assert png_image(encode(Rich(data))).size == (3, 2)


@pytest.mark.parametrize(
    "data", [None, b"GIF89a...", "not base64!", ()], ids=["none", "not-png", "bad-text", "empty"]
)
def test_repr_png_without_png_falls_back_to_json(data: object) -> None:
    assert encode(Rich(data)) == {
        "kind": "json",
        "json": {"rich": True},
        "png": None,
        "csv": None,
        "repr": False,
    }


def test_repr_png_that_raises_falls_back_to_json() -> None:
    class Broken(Rich):
        def _repr_png_(self) -> object:
            raise RuntimeError("no renderer")

    assert encode(Broken(None))["json"] == {"rich": True}


def test_image_classes_are_not_images() -> None:
    result = encode([Figure, Image.Image])
    assert result["kind"] == "json"
    assert result["json"] == [repr(Figure), repr(Image.Image)]


def test_images_inside_containers_are_reprs() -> None:
    figure = Figure()
    result = encode([figure])
    assert result["kind"] == "json"
    assert result["json"] == [repr(figure)]
    assert result["repr"] is True


# --- helpers ------------------------------------------------------------------------------


def test_to_json_text() -> None:
    value = {"x": [1.0, float("nan")], "when": datetime.date(2024, 1, 1), "é": (1,)}
    assert to_json_text(value) == '{"x": [1.0, null], "when": "2024-01-01", "é": [1]}'
    assert to_json_text(Image.new("L", (1, 1))) == "null"


def test_decode_png() -> None:
    assert decode_png(encode([1])) is None
    assert decode_png({}) is None
    assert decode_png(encode(Rich(png_bytes()))) == png_bytes()


# --- the module as kernel-side source -----------------------------------------------------

KERNEL_SIDE = """
import json, sys
path = sys.argv[1]
namespace = {"__name__": "restified_results"}
with open(path, encoding="utf-8") as source:
    exec(compile(source.read(), path, "exec"), namespace)
heavy = [name for name in ("numpy", "pandas", "matplotlib", "PIL") if name in sys.modules]
import dataclasses, datetime
@dataclasses.dataclass
class P:
    x: int
deep = []
for _ in range(5000):
    deep = [deep]
encode = namespace["encode_result"]
print(json.dumps({
    "heavy": heavy,
    "result": encode([1, (2, 3), {"a": float("nan"), None: {2, 1}}, b"hi",
                      datetime.datetime(2024, 1, 2, 3, 4), P(5)]),
    "deep_repr": encode(deep)["repr"],
    "text": namespace["to_json_text"]({"k": float("inf")}),
}, allow_nan=False))
"""


def test_module_source_runs_standalone_without_heavy_imports() -> None:
    path = Path(results.__file__)
    completed = subprocess.run(
        [sys.executable, "-I", "-c", KERNEL_SIDE, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    report = json.loads(completed.stdout)
    assert report == {
        "heavy": [],
        "result": {
            "kind": "json",
            "json": [1, [2, 3], {"a": None, "null": [1, 2]}, "hi", "2024-01-02T03:04:00", {"x": 5}],
            "png": None,
            "csv": None,
            "repr": False,
        },
        "deep_repr": True,
        "text": '{"k": null}',
    }


def test_module_imports_only_the_standard_library() -> None:
    source = Path(results.__file__).read_text(encoding="utf-8")
    imported = {
        line.split()[1].split(".")[0]
        for line in source.splitlines()
        if line.startswith(("import ", "from "))
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}
