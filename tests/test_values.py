"""The parameter types read from annotations (never run), checked values, and the literals
the kernel gets for them (pure: no kernel)."""

from __future__ import annotations

import datetime
import pathlib
from typing import Any

import pytest

from notebook_restified.errors import InvalidParameters
from notebook_restified.inject import render_injected
from notebook_restified.models import merge_values
from notebook_restified.parameter_types import (
    ValueType,
    annotation_value_type,
    json_schema,
    range_comment,
)
from notebook_restified.parameters import check_json, coerce_query, json_values
from notebook_restified.spec import load_spec
from notebook_restified.values import ValueProblem, check_value, coerce_text, json_form

from .test_spec import code, notebook


def spec_of(declarations: str) -> Any:
    return load_spec(notebook(code(declarations, "parameters"), code("0", "return")))


@pytest.mark.parametrize(
    ("annotation", "schema"),
    [
        ('Literal["mean", "median"]', {"type": "string", "enum": ["mean", "median"]}),
        ("typing.Literal[1, -2]", {"type": "integer", "enum": [1, -2]}),
        (
            "Literal['a'] | Literal['b'] | None",
            {"type": ["string", "null"], "enum": ["a", "b", None]},
        ),
        ("list[int]", {"type": "array", "items": {"type": "integer"}}),
        ("List[Optional[str]]", {"type": "array", "items": {"type": ["string", "null"]}}),
        ("Sequence[float]", {"type": "array", "items": {"type": "number"}}),
        ("set[str]", {"type": "array", "items": {"type": "string"}}),
        ("dict[str, float]", {"type": "object", "additionalProperties": {"type": "number"}}),
        ("dict[int, float]", {"type": "object"}),
        (
            "Mapping[str, list[int]]",
            {
                "type": "object",
                "additionalProperties": {"type": "array", "items": {"type": "integer"}},
            },
        ),
        (
            "tuple[int, str]",
            {
                "type": "array",
                "prefixItems": [{"type": "integer"}, {"type": "string"}],
                "items": False,
                "minItems": 2,
                "maxItems": 2,
            },
        ),
        ("tuple[int, ...]", {"type": "array", "items": {"type": "integer"}}),
        ("datetime.date", {"type": "string", "format": "date"}),
        ("date", {"type": "string", "format": "date"}),
        ("datetime.datetime", {"type": "string", "format": "date-time"}),
        ("dt.time", None),  # an alias the reader cannot know: not guessed
        ("datetime.time | None", {"type": ["string", "null"], "format": "time"}),
        ("pathlib.Path", {"type": "string", "format": "path"}),
        ("Annotated[int, Ge(0), Le(100)]", {"type": "integer", "minimum": 0, "maximum": 100}),
        (
            "Annotated[float, at.Gt(0), at.Lt(1)]",
            {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        ),
        (
            "Annotated[int, Interval(ge=-5, lt=5)]",
            {"type": "integer", "minimum": -5, "exclusiveMaximum": 5},
        ),
        ("Annotated[int, MultipleOf(5)]", {"type": "integer", "multipleOf": 5}),
        (
            "Annotated[str, MinLen(1), MaxLen(20)]",
            {"type": "string", "minLength": 1, "maxLength": 20},
        ),
        (
            "Annotated[list[int], Len(1, 3)]",
            {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3},
        ),
        ("Annotated[int, Field(ge=1)]", {"type": "integer", "minimum": 1}),
        ("Annotated[int, Ge(os.getpid())]", {"type": "integer"}),  # never evaluated
        ("Optional[list]", {"type": ["array", "null"]}),
        ("np.ndarray", None),
        ("Literal[print('x')]", None),
    ],
)
def test_annotations_are_read_from_the_syntax_tree(annotation: str, schema: Any) -> None:
    value_type = annotation_value_type(annotation)
    assert (None if value_type is None else json_schema(value_type)) == schema


@pytest.mark.parametrize(
    ("help_text", "kind", "bounds"),
    [
        ("a share 0..100", "int", {"minimum": 0, "maximum": 100}),
        ("0..", "int", {"minimum": 0}),
        ("at most ..10", "float", {"maximum": 10}),
        ("between -1.5..1.5", "float", {"minimum": -1.5, "maximum": 1.5}),
        ("(1..3)", "int", {"minimum": 1, "maximum": 3}),
        ("a title 1..40", "str", {"minLength": 1, "maxLength": 40}),
        ("2..5 items", "list", {}),  # not at the end: not a range
        ("wait...", "int", {}),
        ("version 1..2.5", "str", {}),  # a length is whole
    ],
)
def test_a_help_comment_may_end_in_a_range(
    help_text: str, kind: str, bounds: dict[str, Any]
) -> None:
    schema = json_schema(range_comment(help_text, ValueType(kind)))
    assert {k: v for k, v in schema.items() if k not in ("type", "format")} == bounds


def test_annotated_bounds_win_over_the_comment() -> None:
    (parameter,) = spec_of("n: Annotated[int, Le(5)] = 1  # 0..100").parameters
    assert parameter.schema()["maximum"] == 5
    assert parameter.schema()["minimum"] == 0


@pytest.mark.parametrize(
    ("declaration", "default", "kind"),
    [
        ("d: datetime.date = datetime.date(2024, 1, 31)", "2024-01-31", "date"),
        ("d = datetime.date(year=2024, month=2, day=1)", "2024-02-01", "date"),
        ("d: date = '2024-01-31'", "2024-01-31", "date"),
        ("d = datetime.datetime(2024, 1, 31, 12, minute=30)", "2024-01-31T12:30:00", "datetime"),
        ("d = time(9)", "09:00:00", "time"),
        ("d = datetime.time(hour=9, minute=5)", "09:05:00", "time"),
        ("d = Path('a.csv')", "a.csv", "path"),
        ("d = pathlib.Path('a', 'b.csv')", "a/b.csv", "path"),
        ("d = b'\\x00hi'", "AGhp", "bytes"),
        ("d: tuple[int, int] = (1, 2)", [1, 2], "list"),
    ],
)
def test_defaults_may_be_constructor_calls_or_iso_text(
    declaration: str, default: Any, kind: str
) -> None:
    spec = spec_of(declaration)
    (parameter,) = spec.parameters
    assert (parameter.default, parameter.type) == (default, kind)
    assert not spec.warnings


@pytest.mark.parametrize(
    ("declaration", "words"),
    [
        ("m: Literal['a', 'b'] = 'c'", "expected one of"),
        ("n: Annotated[int, Le(5)] = 10", "must be at most 5"),
        ("d: datetime.date = 'soon'", "expected a date"),
        ("n: int = 1.5", "does not match"),
        # A help comment's range is a bound as an annotation's is.
        ("k = 'a'  # len 2..3", "its default 'a' does not fit its type: must have at least 2"),
        ("x = 1.5  # 0..1", "its default 1.5 does not fit its type: must be at most 1"),
        ("n = 5  # ..-1", "must be at most -1"),
    ],
)
def test_a_default_that_does_not_fit_warns(declaration: str, words: str) -> None:
    warnings = spec_of(declaration).warnings
    assert any(words in w for w in warnings), warnings


@pytest.mark.parametrize("declaration", ["k = 'ab'  # len 2..3", "x = 0.5  # 0..1", "n = 1  # 1.."])
def test_a_default_within_a_help_comments_range_does_not_warn(declaration: str) -> None:
    assert spec_of(declaration).warnings == ()


@pytest.mark.parametrize(
    ("declaration", "words"),
    [
        ("m = 5  # 10..0", "at least 10 and at most 0"),
        ("m: Annotated[int, Ge(10), Le(0)] = 5", "at least 10 and at most 0"),
        ("m: Annotated[int, Gt(1), Lt(2)] = 1", "greater than 1 and less than 2"),
        ("m: Annotated[float, Gt(1), Le(1)] = 1.0", "greater than 1 and at most 1"),
        ("m = 'abc'  # 3..1", "at least 3 characters and at most 1 character"),
        (
            "m: Annotated[list[int], MinLen(2), MaxLen(1)] = [1]",
            "at least 2 items and at most 1 item",
        ),
    ],
)
def test_bounds_that_can_never_be_met_warn(declaration: str, words: str) -> None:
    warnings = spec_of(declaration).warnings
    assert warnings == (
        f"Parameter 'm': its bounds can never be met ({words}): no value a request sends fits.",
    )


@pytest.mark.parametrize(
    "declaration",
    ["m: Annotated[float, Gt(1), Lt(1.5)] = 1.2", "m: Annotated[int, Ge(1), Le(1)] = 1"],
)
def test_narrow_bounds_that_can_be_met_do_not_warn(declaration: str) -> None:
    assert spec_of(declaration).warnings == ()


# --- values --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        ("date", "2024-02-29", datetime.date(2024, 2, 29)),
        (
            "datetime",
            "2024-02-29T10:00:00Z",
            datetime.datetime(2024, 2, 29, 10, tzinfo=datetime.timezone.utc),
        ),
        ("datetime", "2024-02-29", datetime.datetime(2024, 2, 29)),
        ("time", "10:30", datetime.time(10, 30)),
        ("path", "a/../b", pathlib.PurePosixPath("a/../b")),
        ("bytes", "AAE=", b"\x00\x01"),
    ],
)
def test_text_kinds_become_their_python_objects(kind: str, text: str, value: Any) -> None:
    assert coerce_text(ValueType(kind), text) == value
    assert check_value(ValueType(kind), value) == value  # from the Python API, as they are
    assert check_value(ValueType(kind), json_form(value)) == value


def test_an_integral_number_is_an_integer_as_json_schema_counts() -> None:
    assert check_value(ValueType("int"), 90.0) == 90
    assert type(check_value(ValueType("int"), 90.0)) is int
    assert coerce_text(ValueType("int"), "1e3") == 1000
    with pytest.raises(ValueProblem):
        check_value(ValueType("int"), float("inf"))


def test_a_datetime_is_not_a_date() -> None:
    with pytest.raises(ValueProblem, match="got a date and time"):
        check_value(ValueType("date"), datetime.datetime(2024, 1, 1))


def test_python_values_of_the_new_kinds_are_accepted_and_given_back_as_json() -> None:
    spec = spec_of(
        "d: datetime.date = datetime.date(2024, 1, 1)\nb: bytes = b''\ns: tuple[int, int] = (0, 0)"
    )
    values = merge_values(
        spec, {"d": datetime.date(2025, 5, 5)}, {"b": bytearray(b"hi"), "s": (1, 2)}
    )
    assert values == {"d": datetime.date(2025, 5, 5), "b": b"hi", "s": (1, 2)}
    assert json_values(values) == {"d": "2025-05-05", "b": "aGk=", "s": [1, 2]}


def test_the_python_api_refuses_a_name_given_as_mapping_and_keyword() -> None:
    spec = spec_of("n = 1")
    with pytest.raises(InvalidParameters) as info:
        merge_values(spec, {"n": 1}, {"n": 2})
    assert info.value.details == [{"name": "n", "problem": "given more than once"}]


def test_choices_refuse_a_value_of_another_type() -> None:
    spec = spec_of("level: Literal[1, 2] = 1\nflag: Literal[True] = True")
    with pytest.raises(InvalidParameters) as info:
        check_json(spec, {"level": True, "flag": 1})
    problems = {d["name"]: d["problem"] for d in info.value.details}
    assert problems == {
        "level": "expected one of 1, 2, got true",
        "flag": "expected one of true, got 1",
    }
    assert coerce_query(spec, {"level": "2", "flag": "yes"}) == {"level": 2, "flag": True}


def test_choices_of_mixed_types_refuse_null_unless_they_list_it() -> None:
    spec = spec_of("mixed: Literal[1, 'a'] = 1\nor_none: Literal[1, 'a', None] = 1")
    mixed, or_none = spec.parameters
    assert (mixed.type, mixed.nullable, or_none.nullable) == ("any", False, True)
    assert mixed.schema()["enum"] == [1, "a"]
    assert or_none.schema()["enum"] == [1, "a", None]
    with pytest.raises(InvalidParameters) as info:
        check_json(spec, {"mixed": None})
    assert info.value.details == [{"name": "mixed", "problem": 'expected one of 1, "a", got null'}]
    assert check_json(spec, {"mixed": "a", "or_none": None}) == {"mixed": "a", "or_none": None}


# --- literals ------------------------------------------------------------------------------


class EvilInt(int):
    def __repr__(self) -> str:
        return "__import__('os').system('echo pwned')"


class EvilDate(datetime.date):
    @property
    def year(self) -> Any:  # type: ignore[override]
        return "__import__('os')"


class EvilPath(pathlib.PurePosixPath):
    def __str__(self) -> str:
        return "') or __import__('os') or ('"


def run_rendered(spec: Any, values: dict[str, Any]) -> dict[str, Any]:
    source = render_injected(spec, values)
    namespace: dict[str, Any] = {}
    exec(compile(source, "<injected>", "exec"), namespace)
    return namespace


def test_the_kernel_gets_real_objects_from_literal_constructor_calls() -> None:
    spec = spec_of(
        "d: datetime.date = datetime.date(2024, 1, 1)\n"
        "t: datetime.datetime = datetime.datetime(2024, 1, 1)\n"
        "c: datetime.time = datetime.time(0)\n"
        "p: pathlib.Path = pathlib.Path('x')\n"
        "b: bytes = b''\n"
        "s: tuple[int, str] = (1, 'a')\n"
        "one: tuple[int, ...] = ()"
    )
    values = coerce_query(
        spec,
        {
            "d": "2024-02-29",
            "t": "2024-02-29T23:59:59.5-03:30",
            "c": "12:00+01:00",
            "p": "it's/a path",
            "b": "AP8=",
            "s": '[7, "x"]',
            "one": "[5]",
        },
    )
    namespace = run_rendered(spec, values)
    assert namespace["d"] == datetime.date(2024, 2, 29)
    assert namespace["t"].utcoffset() == datetime.timedelta(hours=-3, minutes=-30)
    assert namespace["t"].microsecond == 500000
    assert namespace["c"].utcoffset() == datetime.timedelta(hours=1)
    assert namespace["p"] == pathlib.Path("it's/a path")
    assert namespace["b"] == b"\x00\xff"
    assert namespace["s"] == (7, "x")
    assert namespace["one"] == (5,)
    assert "datetime" not in namespace  # no names bound
    assert "pathlib" not in namespace


@pytest.mark.parametrize(
    ("name", "value"),
    [("n", EvilInt(3)), ("d", EvilDate(2024, 1, 1)), ("p", EvilPath("x"))],
    ids=["int", "date", "path"],
)
def test_a_subclass_cannot_smuggle_code_into_the_literal(name: str, value: Any) -> None:
    spec = spec_of(
        "n = 1\nd: datetime.date = datetime.date(2024, 1, 1)\np: pathlib.Path = pathlib.Path('a')"
    )
    if name == "d":  # a date whose fields are not a date's is refused outright
        with pytest.raises(InvalidParameters, match="got a value that is not one"):
            merge_values(spec, {name: value}, {})
        return
    source = render_injected(spec, merge_values(spec, {name: value}, {}))
    assert "__import__('os')" not in source
    assert "pwned" not in source


@pytest.mark.parametrize(
    ("declaration", "fields", "value"),
    [
        ("tags: list[str] = []", ["a", "b"], ["a", "b"]),
        ("tags: list[str] = []", ["a"], ["a"]),  # one field, not a JSON array: one element
        ("tags: list[str] = []", ['["a", "b"]'], ["a", "b"]),  # a JSON array: the whole list
        ("tags: list[str] = []", ["1", "[x"], ["1", "[x"]),  # text, as a str takes it
        ("ids: set[int] = set()", ["3", "4"], [3, 4]),
        ("pair: tuple[int, str] = (0, '')", ["1", "x"], (1, "x")),
        ("anything = None", ["1", "x", "[2]"], [1, "x", [2]]),  # each as a query reads it
        ("anything = None", ["x"], "x"),  # one field: the value itself
        ("rows: Optional[list[int]] = None", ["null"], None),
    ],
)
def test_a_forms_fields_are_a_lists_elements(
    declaration: str, fields: list[str], value: Any
) -> None:
    spec = spec_of(declaration)
    name = spec.parameters[0].name
    got = coerce_query(spec, {name: fields}, form=True)[name]
    assert got == value
    # Outside a form (a query, the CLI), a name given twice is refused.
    if len(fields) > 1:
        with pytest.raises(InvalidParameters, match="given more than once"):
            coerce_query(spec, {name: fields})


@pytest.mark.parametrize(
    ("declaration", "fields", "problem"),
    [
        ("ids: list[int] = []", ["1", "x"], "item 1: expected an integer"),
        ("ids: Annotated[list[int], MaxLen(2)] = []", ["1", "2", "3"], "at most 2"),
        ("pair: tuple[int, int] = (0, 0)", ["1"], "2"),
        ("options: dict = {}", ["{}", "{}"], "given more than once"),
        ("n: int = 0", ["1", "2"], "given more than once"),
    ],
)
def test_a_forms_fields_are_checked_as_a_whole_and_each(
    declaration: str, fields: list[str], problem: str
) -> None:
    spec = spec_of(declaration)
    name = spec.parameters[0].name
    with pytest.raises(InvalidParameters) as info:
        coerce_query(spec, {name: fields}, form=True)
    assert problem in info.value.details[0]["problem"]
