"""Tests for notebook_restified.parameters: coercion, checking, and the injected cell."""

from __future__ import annotations

import ast
import enum
import math
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_notebook

from notebook_restified.declarations import Parameter
from notebook_restified.errors import InvalidNotebook, InvalidParameters, InvalidRequest
from notebook_restified.inject import injected_cell, render_injected
from notebook_restified.parameters import (
    MAX_DEPTH,
    RESERVED,
    ValueProblem,
    check_json,
    coerce_query,
    plain_value,
    unknown_parameter,
)
from notebook_restified.spec import NotebookSpec, load_spec

PARAMETERS_CELL = """\
i = 1  # an int
f = 1.5
b = True
s = "x"
l = [1]
d = {"a": 1}
a = None
oi: Optional[int] = 3
ol: Optional[list] = None
od: dict = None
"""

HOSTILE_NAMES = [
    "__import__('os').system('touch X')",
    "a; import os",
    "n\nimport os",
    "n = 1\nimport os\nx",
    "i\n__import__('os').system('touch X')",
    "i ",
    " i",
    "I",
    "i\x00",
    "exec",
    "__builtins__",
    "os.system",
    "",
    "# comment",
    "i: int",
    "i=1;import os;x",
    "\uff49",  # fullwidth i: NFKC-equal to "i" as a Python identifier, but not the same name
]

SENTINEL_PAYLOADS = [
    "\"); import os; os.system('touch X')#",
    "'); import os; os.system('touch X')#",
    "__import__('os').system('touch X')",
    "'''; __import__('os').system('touch X'); '''",
    '"""; __import__(\'os\').system(\'touch X\'); """',
    "\\'; __import__('os').system('touch X'); #",
    "\\\"; __import__('os').system('touch X'); #",
    "x\n__import__('os').system('touch X')\n",
    "x\r__import__('os').system('touch X')\r",
    "x\u2028__import__('os').system('touch X')",
    "{__import__('os').system('touch X')}",
    "$(touch X)",
    "`touch X`",
]

HOSTILE_STRINGS = [
    *SENTINEL_PAYLOADS,
    "",
    "'",
    '"',
    "'''",
    '"""',
    "'\"'''\"\"\"",
    "\\",
    "ends with a backslash\\",
    "\\\\",
    "\\n is not a newline",
    "\\x00\\u0041",
    "line\nbreak",
    "cr\rlf\r\n",
    "nul\x00byte",
    "\x00",
    "tab\tvertical\x0bform\x0c",
    "\x1b[31mansi\x1b[0m",
    "emoji 🎉👩‍👩‍👧 flags 🇫🇷",
    "rtl \u202eevil\u202c \u200f\u200e",
    "zero width \u200b\ufeff",
    "\u2028\u2029\x85",
    "lone surrogate \ud800 \udfff",
    "surrogateescape \udc80\udcff",
    "ſ ﬁ Ω Å",  # noqa: RUF001 - characters that NFKC-normalise
    "\U0010ffff",
    "x" * 100_000,
]

HOSTILE_VALUES: list[Any] = [
    *HOSTILE_STRINGS,
    0,
    -1,
    10**400,
    -(10**400),
    2**63,
    1e308,
    -1e308,
    5e-324,
    -0.0,
    0.1,
    float("nan"),
    float("inf"),
    float("-inf"),
    True,
    False,
    None,
    [],
    {},
    [None, True, 1, 1.5, "s", [], {}],
    {"__import__('os').system('touch X')": "v", "k'\"\\\n": ["'", '"', "\\"]},
    {"": {"": [{"": None}]}, "\x00": float("nan"), "🎉": float("-inf")},
    [[[[[["deep"]]]]]],
    {"a": {"b": {"c": {"d": [1, {"e": "f\\"}]}}}},
]


# --------------------------------------------------------------------------------------------
# helpers


def make_spec(source: str = PARAMETERS_CELL) -> NotebookSpec:
    nb = new_notebook(
        cells=[
            new_code_cell("import os"),
            new_code_cell(source, metadata={"tags": ["parameters"]}),
            new_code_cell("i", metadata={"tags": ["return"]}),
        ]
    )
    return load_spec(nb)


@pytest.fixture(scope="module")
def spec() -> NotebookSpec:
    return make_spec()


def problems(error: InvalidParameters) -> dict[str, str]:
    return {d["name"]: d["problem"] for d in error.details}


def same(a: Any, b: Any) -> bool:
    """Equal with the same types all the way down; NaN equals NaN; -0.0 differs from 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


def assert_only_literal_assignments(source: str, allowed_names: set[str]) -> None:
    """Every statement assigns a literal to a declared name; the only calls are float(...)."""
    tree = ast.parse(source)
    for stmt in tree.body:
        assert isinstance(stmt, ast.Assign), ast.dump(stmt)
        assert len(stmt.targets) == 1
        target = stmt.targets[0]
        assert isinstance(target, ast.Name)
        assert target.id in allowed_names
        for node in ast.walk(stmt.value):
            assert not isinstance(node, (ast.Name, ast.Attribute, ast.Lambda)) or (
                isinstance(node, ast.Name) and node.id == "float"
            ), ast.dump(node)
            if isinstance(node, ast.Call):
                assert isinstance(node.func, ast.Name)
                assert node.func.id == "float"
                assert len(node.args) == 1
                assert not node.keywords
                arg = node.args[0]
                assert isinstance(arg, ast.Constant)
                assert arg.value in ("nan", "inf")


def run_rendered(spec: NotebookSpec, values: dict[str, Any]) -> dict[str, Any]:
    """Render, check the code's shape, run it in a fresh namespace, return the namespace."""
    source = render_injected(spec, values)
    assert source.startswith("# Parameters\n")
    assert_only_literal_assignments(source, {p.name for p in spec.parameters})
    namespace: dict[str, Any] = {}
    exec(compile(source, "<injected>", "exec"), namespace)
    namespace.pop("__builtins__", None)
    return namespace


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run in tmp_path so a `touch X` that got through would leave tmp_path/X."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    assert not (tmp_path / "X").exists(), "injected code ran"


# --------------------------------------------------------------------------------------------
# coerce_query: accepted spellings


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("i", "10", 10),
        ("i", "-3", -3),
        ("i", "+4", 4),
        ("i", "0", 0),
        ("i", "-0", 0),
        ("i", "007", 7),
        ("i", " 7 ", 7),
        ("i", "7\n", 7),
        ("i", "1" * 400, int("1" * 400)),
        ("i", "-" + "9" * 1000, -int("9" * 1000)),
        ("f", "1.5", 1.5),
        ("f", "10", 10.0),
        ("f", "-2", -2.0),
        ("f", "+2.5", 2.5),
        ("f", "1e3", 1000.0),
        ("f", "1E-3", 0.001),
        ("f", ".5", 0.5),
        ("f", "5.", 5.0),
        ("f", "-0.0", -0.0),
        ("f", "1e308", 1e308),
        ("f", "1e999", math.inf),
        ("f", "inf", math.inf),
        ("f", "-inf", -math.inf),
        ("f", "+Infinity", math.inf),
        ("f", "INF", math.inf),
        ("f", "nan", math.nan),
        ("f", "NaN", math.nan),
        ("f", " 2.5 ", 2.5),
        ("b", "true", True),
        ("b", "True", True),
        ("b", "TRUE", True),
        ("b", "1", True),
        ("b", "yes", True),
        ("b", "Yes", True),
        ("b", "on", True),
        ("b", "ON", True),
        ("b", " yes ", True),
        ("b", "false", False),
        ("b", "False", False),
        ("b", "0", False),
        ("b", "no", False),
        ("b", "off", False),
        ("s", "hello", "hello"),
        ("s", "", ""),
        ("s", "  spaced  ", "  spaced  "),
        ("s", "10", "10"),
        ("s", "null", "null"),
        ("s", '"quoted"', '"quoted"'),
        ("s", "[1, 2]", "[1, 2]"),
        ("l", "[1, 2]", [1, 2]),
        ("l", "[]", []),
        ("l", ' [ "a" , {"b": null} ] ', ["a", {"b": None}]),
        ("l", "[1.5, true, null]", [1.5, True, None]),
        ("d", '{"a": 1}', {"a": 1}),
        ("d", "{}", {}),
        ("d", '{"a": {"b": [1, "x"]}}', {"a": {"b": [1, "x"]}}),
        ("a", "1", 1),
        ("a", "-1.5", -1.5),
        ("a", "true", True),
        ("a", "null", None),
        ("a", '"q"', "q"),
        ("a", "[1]", [1]),
        ("a", '{"k": "v"}', {"k": "v"}),
        ("a", "abc", "abc"),
        ("a", "", ""),
        ("a", "True", "True"),
        ("a", "NaN", "NaN"),
        ("a", "[1,", "[1,"),
        ("a", "'single'", "'single'"),
        ("oi", "5", 5),
        ("oi", "null", None),  # it admits None: spelled as in JSON
        ("oi", " null ", None),
        ("ol", "null", None),
        ("ol", "[1]", [1]),
        ("od", "null", None),
    ],
)
def test_coerce_accepts(spec: NotebookSpec, name: str, text: str, expected: Any) -> None:
    values = coerce_query(spec, {name: text})
    assert list(values) == [name]
    assert same(values[name], expected), (values[name], expected)


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("i", "", "expected an integer"),
        ("i", "1.5", "expected an integer"),
        ("i", "1e400", "expected an integer"),
        ("i", "1e3x", "expected an integer"),
        ("i", "1_000", "expected an integer"),
        ("i", "0x10", "expected an integer"),
        ("i", "abc", "expected an integer"),
        ("i", "10 10", "expected an integer"),
        ("i", "True", "expected an integer"),
        ("i", "nan", "expected an integer"),
        ("i", "--1", "expected an integer"),
        ("i", "\u0661\u0662", "expected an integer"),  # Arabic-Indic digits: int() takes them
        ("i", "\uff11\uff12", "expected an integer"),  # fullwidth digits
        ("f", "", "expected a number"),
        ("f", "abc", "expected a number"),
        ("f", "1_0.0", "expected a number"),
        ("f", "0x1p3", "expected a number"),
        ("f", "1,5", "expected a number"),
        ("f", "nanx", "expected a number"),
        ("f", "--1", "expected a number"),
        ("f", "1e", "expected a number"),
        ("f", "\u0661.\u0665", "expected a number"),
        ("f", "infinit", "expected a number"),
        ("b", "", "expected a boolean"),
        ("b", "2", "expected a boolean"),
        ("b", "truth", "expected a boolean"),
        ("b", "y", "expected a boolean"),
        ("b", "t", "expected a boolean"),
        ("b", "null", "expected a boolean"),
        ("b", "-1", "expected a boolean"),
        ("l", "", "expected a list"),
        ("l", "{}", "expected a list"),
        ("l", "1", "expected a list"),
        ("l", '"[1]"', "expected a list"),
        ("l", "[1,", "expected a list"),
        ("l", "[NaN]", "expected a list"),
        ("l", "[Infinity]", "expected a list"),
        ("l", "1,2", "expected a list"),
        ("l", "null", "expected a list"),
        ("l", "['single']", "expected a list"),
        ("d", "[]", "expected an object"),
        ("d", "{'a': 1}", "expected an object"),
        ("d", '{"a": NaN}', "expected an object"),
        ("d", "null", "expected an object"),
        ("oi", "None", "expected an integer"),
        ("l", "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "nest more than"),
        ("a", "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "nest more than"),
        ("a", "[" * 100_000 + "]" * 100_000, "nest more than"),
        ("d", '{"a":' * 200 + "1" + "}" * 200, "nest more than"),
    ],
)
def test_coerce_rejects(spec: NotebookSpec, name: str, text: str, words: str) -> None:
    with pytest.raises(InvalidParameters) as info:
        coerce_query(spec, {name: text})
    assert list(problems(info.value)) == [name]
    assert words in problems(info.value)[name]
    assert info.value.status == 422


@pytest.mark.skipif(
    not hasattr(sys, "get_int_max_str_digits"), reason="no integer string conversion limit"
)
def test_coerce_int_beyond_the_digit_limit(spec: NotebookSpec) -> None:
    text = "1" * (sys.get_int_max_str_digits() + 1)
    with pytest.raises(InvalidParameters) as info:
        coerce_query(spec, {"i": text})
    assert problems(info.value) == {"i": "the integer has too many digits"}


def test_coerce_nesting_up_to_the_limit_is_fine(spec: NotebookSpec) -> None:
    text = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    values = coerce_query(spec, {"l": text})
    depth, value = 0, values["l"]
    while value:
        value, depth = value[0], depth + 1
    assert depth == MAX_DEPTH - 1


def test_coerce_sequences_and_repeats(spec: NotebookSpec) -> None:
    assert coerce_query(spec, {"i": ["5"], "s": ("x",)}) == {"i": 5, "s": "x"}
    assert coerce_query(spec, {"i": []}) == {}
    with pytest.raises(InvalidParameters) as info:
        coerce_query(spec, {"i": ["1", "2"], "s": ["a", "a"]})
    assert problems(info.value) == {"i": "given more than once", "s": "given more than once"}


def test_coerce_missing_parameters_keep_their_defaults(spec: NotebookSpec) -> None:
    assert coerce_query(spec, {}) == {}
    assert coerce_query(spec, {"b": "no"}) == {"b": False}


def test_coerce_collects_every_problem(spec: NotebookSpec) -> None:
    with pytest.raises(InvalidParameters) as info:
        coerce_query(
            spec,
            {
                "i": "one",
                "s": "fine",
                "zz": "1",
                "f": ["1", "2"],
                "b": "maybe",
                "l": "{}",
                "d": "[]",
                "token": "dropped",
            },
        )
    error = info.value
    assert [d["name"] for d in error.details] == ["i", "zz", "f", "b", "l", "d"]
    assert "unknown parameter" in problems(error)["zz"]
    assert "i, f, b, s, l, d, a, oi, ol, od" in problems(error)["zz"]
    body = error.to_json()["error"]
    assert body["type"] == "invalid_parameters"
    assert body["details"] == error.details
    for name in ("i", "zz", "f", "b", "l", "d"):
        assert name in error.message


def test_unknown_parameter_when_there_are_none() -> None:
    spec = load_spec(new_notebook(cells=[new_code_cell("1")]))
    with pytest.raises(InvalidParameters) as info:
        coerce_query(spec, {"n": "1"})
    assert problems(info.value) == {"n": "unknown parameter; this notebook takes no parameters"}


@pytest.mark.parametrize("name", sorted(RESERVED))
def test_reserved_names_are_dropped(spec: NotebookSpec, name: str) -> None:
    assert coerce_query(spec, {name: "secret", "i": "2"}) == {"i": 2}
    assert coerce_query(spec, {name: ["a", "b"]}) == {}
    assert check_json(spec, {name: "secret", "i": 2}) == {"i": 2}


def test_reserved_names_are_dropped_even_when_declared() -> None:
    spec = make_spec("token = 'default'\nkey = 1\n_xsrf = 2\nn = 3\n")
    assert coerce_query(spec, {"token": "t", "key": "2", "_xsrf": "x", "n": "4"}) == {"n": 4}
    assert check_json(spec, {"token": "t", "key": 2, "n": 4}) == {"n": 4}
    with pytest.raises(InvalidParameters) as info:
        coerce_query(spec, {"zz": "1"})
    assert problems(info.value)["zz"].endswith("the parameters are: n")


# --------------------------------------------------------------------------------------------
# check_json


class Color(enum.IntEnum):
    RED = 1


class EvilStr(str):
    __slots__ = ()

    def __repr__(self) -> str:
        return "__import__('os').system('touch X')"

    def __str__(self) -> str:
        return "__import__('os').system('touch X')"


class EvilInt(int):
    def __repr__(self) -> str:
        return "__import__('os').system('touch X')"

    def __int__(self) -> int:
        return 666


class EvilFloat(float):
    def __repr__(self) -> str:
        return "__import__('os').system('touch X')"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("i", 5, 5),
        ("i", -(10**400), -(10**400)),
        ("i", Color.RED, 1),
        ("f", 1, 1.0),
        ("f", -3, -3.0),
        ("f", 2.5, 2.5),
        ("f", -0.0, -0.0),
        ("f", math.nan, math.nan),
        ("f", math.inf, math.inf),
        ("f", 2**53 + 1, float(2**53 + 1)),
        ("b", True, True),
        ("b", False, False),
        ("s", "", ""),
        ("s", "x'\"\\", "x'\"\\"),
        ("l", [], []),
        ("l", [1, [2, {"a": None}]], [1, [2, {"a": None}]]),
        ("d", {}, {}),
        ("d", {"a": [1.5, "b"]}, {"a": [1.5, "b"]}),
        ("a", None, None),
        ("a", 1, 1),
        ("a", "x", "x"),
        ("a", [1, "x", None], [1, "x", None]),
        ("a", {"k": {"k": []}}, {"k": {"k": []}}),
        ("a", math.nan, math.nan),
        ("oi", None, None),
        ("oi", 4, 4),
        ("ol", None, None),
        ("od", None, None),
        ("od", {"x": 1}, {"x": 1}),
    ],
)
def test_check_json_accepts(spec: NotebookSpec, name: str, value: Any, expected: Any) -> None:
    checked = check_json(spec, {name: value})
    assert same(checked[name], expected), (checked[name], expected)


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("i", True, "expected an integer, got a boolean"),
        ("i", 1.5, "expected an integer, got a number"),
        ("i", "1", "expected an integer, got a string"),
        ("i", None, "expected an integer, got null"),
        ("i", [1], "expected an integer, got a list"),
        ("f", True, "expected a number, got a boolean"),
        ("f", "1.5", "expected a number, got a string"),
        ("f", None, "got null"),
        ("f", 10**400, "too large for a float"),
        ("b", 1, "expected a boolean, got an integer"),
        ("b", "true", "expected a boolean, got a string"),
        ("b", None, "got null"),
        ("s", 1, "expected a string, got an integer"),
        ("s", None, "got null"),
        ("s", b"bytes", "got a bytes"),
        ("l", {}, "expected a list, got an object"),
        ("l", "[]", "expected a list, got a string"),
        ("l", "[1]", "expected a list, got a string"),
        ("l", None, "got null"),
        ("l", [{1, 2}], "contains a set"),
        ("l", [object()], "contains a object"),
        ("l", [b"x"], "contains a bytes"),
        ("d", [], "expected an object (dict), got a list"),
        ("d", {1: 2}, "keys must be strings"),
        ("d", {"a": {None: 1}}, "keys must be strings"),
        ("d", {"a": (1,)}, "contains a tuple"),
        ("a", {1, 2}, "contains a set"),
        ("a", 1j, "contains a complex"),
        ("a", object(), "not a JSON value"),
        ("oi", "3", "expected an integer"),
    ],
)
def test_check_json_rejects(spec: NotebookSpec, name: str, value: Any, words: str) -> None:
    with pytest.raises(InvalidParameters) as info:
        check_json(spec, {name: value})
    assert list(problems(info.value)) == [name]
    assert words in problems(info.value)[name]


def test_check_json_nesting_limit(spec: NotebookSpec) -> None:
    value: Any = []
    for _ in range(MAX_DEPTH - 1):
        value = [value]
    check_json(spec, {"l": value, "a": value})
    with pytest.raises(InvalidParameters) as info:
        check_json(spec, {"l": [value], "a": {"k": value}})
    assert set(problems(info.value)) == {"l", "a"}
    assert all("nest more than" in p for p in problems(info.value).values())


def test_check_json_collects_every_problem(spec: NotebookSpec) -> None:
    with pytest.raises(InvalidParameters) as info:
        check_json(
            spec,
            {"i": "1", "f": 1, "nope": 1, "b": None, "l": [1], "d": [], "__import__('os')": 1},
        )
    assert [d["name"] for d in info.value.details] == ["i", "nope", "b", "d", "__import__('os')"]
    assert "unknown parameter" in problems(info.value)["nope"]


def test_check_json_non_string_name(spec: NotebookSpec) -> None:
    with pytest.raises(InvalidParameters) as info:
        check_json(spec, {1: 2})  # type: ignore[dict-item]
    assert info.value.details == [{"name": "1", "problem": "parameter names must be strings"}]


def test_check_json_returns_plain_types(spec: NotebookSpec) -> None:
    checked = check_json(
        spec,
        {
            "i": EvilInt(3),
            "f": EvilFloat(2.5),
            "s": EvilStr("plain"),
            "l": [EvilStr("x"), EvilInt(4)],
            "d": {EvilStr("k"): EvilFloat(1.0)},
        },
    )
    assert checked == {"i": 3, "f": 2.5, "s": "plain", "l": ["x", 4], "d": {"k": 1.0}}
    assert type(checked["i"]) is int
    assert type(checked["f"]) is float
    assert type(checked["s"]) is str
    assert [type(v) for v in checked["l"]] == [str, int]
    assert [type(k) for k in checked["d"]] == [str]


def test_check_json_empty(spec: NotebookSpec) -> None:
    assert check_json(spec, {}) == {}


@pytest.mark.parametrize("body", [[], [["i", 1]], "i=1", 1, None])
def test_check_json_body_must_be_an_object(spec: NotebookSpec, body: Any) -> None:
    with pytest.raises(InvalidRequest) as info:
        check_json(spec, body)
    assert info.value.status == 400


# --------------------------------------------------------------------------------------------
# render_injected


def test_render_format_and_order(spec: NotebookSpec) -> None:
    source = render_injected(spec, {"s": "x", "i": 5, "a": None, "b": False})
    assert source == "# Parameters\ni = 5\nb = False\ns = 'x'\na = None\n"


def test_render_nothing(spec: NotebookSpec) -> None:
    assert render_injected(spec, {}) == "# Parameters\n"


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        (math.nan, "float('nan')"),
        (math.inf, "float('inf')"),
        (-math.inf, "-float('inf')"),
        (-0.0, "-0.0"),
        (1e308, "1e+308"),
        (10**400, str(10**400)),
        ("'", '"\'"'),
        ("a\nb", "'a\\nb'"),
        ("\x00", "'\\x00'"),
        ([math.nan, {"k": -math.inf}], "[float('nan'), {'k': -float('inf')}]"),
    ],
)
def test_render_literals(spec: NotebookSpec, value: Any, literal: str) -> None:
    assert render_injected(spec, {"a": value}) == f"# Parameters\na = {literal}\n"


def test_render_huge_int_beyond_the_digit_limit(spec: NotebookSpec) -> None:
    value = 7**20_000  # ~17k decimal digits: repr() refuses, the hex literal does not
    source = render_injected(spec, {"i": value})
    if hasattr(sys, "get_int_max_str_digits"):
        assert "0x" in source
    namespace: dict[str, Any] = {}
    exec(source, namespace)
    assert namespace["i"] == value
    namespace = {}
    exec(render_injected(spec, {"i": -value}), namespace)
    assert namespace["i"] == -value


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=lambda v: repr(v)[:40])
def test_render_round_trips_hostile_values(spec: NotebookSpec, in_tmp: Path, value: Any) -> None:
    namespace = run_rendered(spec, {"a": value})
    assert list(namespace) == ["a"]
    assert same(namespace["a"], value)


@pytest.mark.parametrize("text", HOSTILE_STRINGS, ids=lambda v: repr(v)[:40])
def test_hostile_strings_through_the_query_path(
    spec: NotebookSpec, in_tmp: Path, text: str
) -> None:
    values = coerce_query(spec, {"s": text, "a": text})
    assert values["s"] == text
    namespace = run_rendered(spec, values)
    assert same(namespace["s"], text)
    assert same(namespace["a"], values["a"])


def test_hostile_values_all_at_once(spec: NotebookSpec, in_tmp: Path) -> None:
    values = check_json(
        spec,
        {
            "s": "\"); import os; os.system('touch X')#",
            "l": list(HOSTILE_STRINGS),
            "d": {s: s for s in HOSTILE_STRINGS},
            "a": {"nested": [HOSTILE_STRINGS, {"x": math.nan}]},
            "f": -math.inf,
            "i": 10**400,
        },
    )
    namespace = run_rendered(spec, values)
    for name, value in values.items():
        assert same(namespace[name], value), name


def test_render_subclasses_use_base_reprs(spec: NotebookSpec, in_tmp: Path) -> None:
    values = {"s": EvilStr("x"), "i": EvilInt(3), "f": EvilFloat(0.5), "l": [EvilStr("y")]}
    source = render_injected(spec, values)
    assert "__import__" not in source
    namespace = run_rendered(spec, values)
    assert namespace == {"i": 3, "f": 0.5, "s": "x", "l": ["y"]}


def test_render_deepest_allowed_nesting_compiles(spec: NotebookSpec) -> None:
    value: Any = math.nan
    for level in range(MAX_DEPTH):
        value = {"k'\"": value} if level % 2 else [value]
    check_json(spec, {"a": value})
    namespace = run_rendered(spec, {"a": value})
    assert same(namespace["a"], value)


def test_render_refuses_too_deep(spec: NotebookSpec) -> None:
    value: Any = []
    for _ in range(MAX_DEPTH):
        value = [value]
    with pytest.raises(ValueError, match="nests more than"):
        render_injected(spec, {"a": value})


@pytest.mark.parametrize(
    "value",
    [{1, 2}, object(), 1j, [{1}], {"k": {1}}, {1: "a"}, bytearray(b"x")],
    ids=repr,
)
def test_render_refuses_non_json_values(spec: NotebookSpec, value: Any) -> None:
    with pytest.raises(TypeError):
        render_injected(spec, {"a": value})


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=repr)
def test_hostile_names_are_unknown_everywhere(spec: NotebookSpec, in_tmp: Path, name: str) -> None:
    with pytest.raises(InvalidParameters) as info:
        coerce_query(spec, {name: "1", "i": "2"})
    assert info.value.details[0]["name"] == name
    assert "unknown parameter" in info.value.details[0]["problem"]
    assert len(info.value.details) == 1

    with pytest.raises(InvalidParameters) as info:
        check_json(spec, {name: 1, "i": 2})
    assert "unknown parameter" in info.value.details[0]["problem"]

    with pytest.raises(InvalidParameters):
        render_injected(spec, {name: 1, "i": 2})
    with pytest.raises(InvalidParameters):
        injected_cell(spec, {name: 1})


def test_render_never_writes_undeclared_names(spec: NotebookSpec) -> None:
    declared = {p.name for p in spec.parameters}
    source = render_injected(spec, {"s": "__import__('os')", "a": {"a; import os": 1}})
    written = {stmt.targets[0].id for stmt in ast.parse(source).body}  # type: ignore[attr-defined]
    assert written <= declared


def test_render_refuses_a_non_identifier_in_a_hand_built_spec() -> None:
    bad = NotebookSpec(
        parameters=(Parameter("a; import os", "int", 1, "", None),),
        parameters_cell=0,
        setup_cells=(),
        body_cells=(),
        skip_cells=(),
        return_cell=None,
        kernel_name="python3",
        language="python",
        warnings=(),
        sources=("",),
        cell_ids=(None,),
    )
    with pytest.raises(ValueError, match="not an identifier"):
        render_injected(bad, {"a; import os": 1})


def test_injected_cell(spec: NotebookSpec) -> None:
    cell = injected_cell(spec, {"i": 3, "s": "x"})
    assert cell.cell_type == "code"
    assert cell.metadata["tags"] == ["injected-parameters"]
    assert cell.source == "# Parameters\ni = 3\ns = 'x'\n"
    assert cell.outputs == []
    assert cell.execution_count is None


def test_injected_cell_round_trips_through_a_saved_notebook(tmp_path: Path) -> None:
    spec = make_spec()
    nb = new_notebook(
        cells=[
            new_code_cell(spec.sources[1], metadata={"tags": ["parameters"]}),
            injected_cell(spec, {"s": "x\x00y"}),
        ]
    )
    again = load_spec(nb)
    assert again.parameters == spec.parameters
    assert again.body_cells == ()


# --------------------------------------------------------------------------------------------
# property-based round trips


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**500), max_value=10**500)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(st.characters(codec=None, exclude_categories=()))
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(st.characters(exclude_categories=())), children, max_size=5)
    ),
    max_leaves=30,
)
HYPOTHESIS = settings(
    database=None,
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@HYPOTHESIS
@given(value=json_values)
def test_any_json_value_round_trips(value: Any) -> None:
    spec = make_spec("a = None\n")
    cwd_before = set(os.listdir())
    namespace = run_rendered(spec, check_json(spec, {"a": value}))
    assert same(namespace["a"], value)
    assert set(os.listdir()) == cwd_before


@HYPOTHESIS
@given(text=st.text(st.characters(codec=None, exclude_categories=())))
def test_any_query_text_round_trips(text: str) -> None:
    spec = make_spec("s = 'x'\na = None\n")
    values = coerce_query(spec, {"s": text, "a": text})
    namespace = run_rendered(spec, values)
    assert same(namespace["s"], text)
    assert same(namespace["a"], values["a"])


@HYPOTHESIS
@given(name=st.text(), value=st.text())
def test_any_name_other_than_declared_is_unknown(name: str, value: str) -> None:
    spec = make_spec("n = 1\n")
    if name in ("n", *RESERVED):
        return
    with pytest.raises(InvalidParameters):
        coerce_query(spec, {name: value})
    with pytest.raises(InvalidParameters):
        check_json(spec, {name: value})
    with pytest.raises(InvalidParameters):
        render_injected(spec, {name: value})


# --------------------------------------------------------------------------------------------
# other languages


def foreign_spec(kernel: str, language: str, *parameters: Parameter) -> NotebookSpec:
    return NotebookSpec(
        parameters=parameters,
        parameters_cell=0,
        setup_cells=(),
        body_cells=(),
        skip_cells=(),
        return_cell=None,
        kernel_name=kernel,
        language=language,
        warnings=(),
        sources=("",),
        cell_ids=(None,),
    )


X = Parameter("x", "any", None, "", None)
Y = Parameter("y", "any", None, "", None)


def test_render_r() -> None:
    spec = foreign_spec("ir", "R", X, Y)
    source = render_injected(spec, {"y": {"k": [1, True, None]}, "x": 'say "hi"\\'})
    assert source == ('# Parameters\nx = "say \\"hi\\"\\\\"\ny = list("k" = list(1, TRUE, NULL))\n')


def test_render_julia_escapes_interpolation() -> None:
    spec = foreign_spec("julia-1.10", "julia", X)
    source = render_injected(spec, {"x": '$(run(`touch X`)) $x \\$y "'})
    assert source == '# Parameters\nx = "\\$(run(`touch X`)) \\$x \\\\\\$y \\""\n'


def test_render_powershell_uses_verbatim_strings() -> None:
    spec = foreign_spec(".net-powershell", ".net-powershell", X)
    source = render_injected(spec, {"x": "$(Remove-Item X) `\" it's \u2019q\u2019"})
    assert source == "# Parameters\n$x = '$(Remove-Item X) `\" it''s \u2019\u2019q\u2019\u2019'\n"


def test_render_bash_quotes() -> None:
    spec = foreign_spec("bash", "bash", X)
    assert render_injected(spec, {"x": "$(touch X); 'q'"}) == (
        "# Parameters\nx='$(touch X); '\"'\"'q'\"'\"''\n"
    )


def test_render_foreign_value_the_language_cannot_express() -> None:
    spec = foreign_spec("bash", "bash", X, Y)
    with pytest.raises(InvalidParameters) as info:
        render_injected(spec, {"x": 1, "y": {"k": 1}})
    assert [d["name"] for d in info.value.details] == ["y"]


def test_render_foreign_uses_plain_copies_of_values() -> None:
    spec = foreign_spec("bash", "bash", X)
    assert render_injected(spec, {"x": EvilStr("plain")}) == "# Parameters\nx=plain\n"


def test_render_foreign_still_refuses_unknown_names_and_non_json() -> None:
    spec = foreign_spec("ir", "R", X)
    with pytest.raises(InvalidParameters):
        render_injected(spec, {"x); system('touch X'); (": 1})
    with pytest.raises(TypeError):
        render_injected(spec, {"x": {1, 2}})


def test_render_without_translator() -> None:
    spec = foreign_spec("cobol", "cobol", X)
    assert render_injected(spec, {}) == ""
    with pytest.raises(InvalidNotebook):
        render_injected(spec, {"x": 1})


def test_render_python_translator_kernel_uses_exact_literals() -> None:
    spec = foreign_spec("pysparkkernel", "pyspark", X)
    assert render_injected(spec, {"x": math.nan}) == "# Parameters\nx = float('nan')\n"


def test_sentinel_detects_code_that_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The control for `in_tmp`: the payloads above do create tmp_path/X when they do run.
    monkeypatch.chdir(tmp_path)
    exec(SENTINEL_PAYLOADS[2], {})
    assert (tmp_path / "X").exists()


# --------------------------------------------------------------------------------------------
# plain_value and unknown_parameter (used by the injector too)


def test_plain_value_rebuilds_exact_types() -> None:
    value = plain_value({"a": [EvilInt(1), EvilFloat(2.5), EvilStr("x"), True, None]})
    assert value == {"a": [1, 2.5, "x", True, None]}
    assert [type(v) for v in value["a"]] == [int, float, str, bool, type(None)]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ((1, 2), "contains a tuple, which is not a JSON value"),
        ({1: "x"}, "object keys must be strings, not an integer"),
        ([[[]]], f"nest more than {MAX_DEPTH} levels deep"),
    ],
)
def test_plain_value_refuses(value: Any, words: str) -> None:
    with pytest.raises(ValueProblem, match=words):
        plain_value(value, depth=MAX_DEPTH - 2)


def test_unknown_parameter(spec: NotebookSpec) -> None:
    detail = unknown_parameter(spec, "zz")
    assert detail["name"] == "zz"
    assert detail["problem"].startswith("unknown parameter; the parameters are: i, f, b, s")
    assert unknown_parameter(make_spec("token = 1"), "x") == {
        "name": "x",
        "problem": "unknown parameter; this notebook takes no parameters",
    }
