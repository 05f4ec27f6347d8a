"""Tests for notebook_restified.spec (and the error classes it raises)."""

from __future__ import annotations

import dataclasses
import json
import pickle
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell
from papermill.models import Parameter as PapermillParameter
from papermill.parameterize import parameterize_notebook
from papermill.translators import Translator, papermill_translators

from notebook_restified import errors
from notebook_restified.declarations import Parameter
from notebook_restified.errors import (
    Busy,
    CallTimeout,
    ExecutionError,
    InvalidNotebook,
    InvalidParameters,
    InvalidRequest,
    KernelDied,
    NotAcceptable,
    NotFound,
    RestifiedError,
)
from notebook_restified.parameter_types import annotation_type
from notebook_restified.spec import NotebookSpec, load_spec

from .notebooks import record_notebook

# --------------------------------------------------------------------------------------------
# helpers


def code(source: str, *tags: str) -> Any:
    return new_code_cell(source, metadata={"tags": list(tags)} if tags else {})


def md(source: str, *tags: str) -> Any:
    return new_markdown_cell(source, metadata={"tags": list(tags)} if tags else {})


def notebook(*cells: Any, kernel: str | None = None, language: str | None = None) -> Any:
    nb = new_notebook(cells=list(cells))
    if kernel is not None:
        nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": language}
    if language is not None:
        nb.metadata["language_info"] = {"name": language}
    record_notebook(nb)
    return nb


def params_spec(source: str) -> NotebookSpec:
    """The spec of a notebook whose only cells are this parameters cell and a return cell."""
    return load_spec(notebook(code(source, "parameters"), code("1", "return")))


def only(spec: NotebookSpec) -> Parameter:
    assert len(spec.parameters) == 1, spec.parameters
    return spec.parameters[0]


def invalid(source: str) -> InvalidNotebook:
    nb = notebook(code("import os"), code(source, "parameters"), code("1", "return"))
    with pytest.raises(InvalidNotebook) as info:
        load_spec(nb)
    assert info.value.cells == [1]
    assert info.value.to_json()["error"]["cells"] == [1]
    return info.value


# --------------------------------------------------------------------------------------------
# literal defaults and their types


@pytest.mark.parametrize(
    ("source", "type_", "default"),
    [
        ("x = 1", "int", 1),
        ("x = -3", "int", -3),
        ("x = +5", "int", 5),
        ("x = 0x10", "int", 16),
        ("x = 1_000", "int", 1000),
        ("x = 10000000000000000000000000000000", "int", 10**31),
        ("x = 1.5", "float", 1.5),
        ("x = -0.5", "float", -0.5),
        ("x = 1e3", "float", 1000.0),
        ("x = -0.0", "float", -0.0),
        ("x = True", "bool", True),
        ("x = False", "bool", False),
        ("x = 'a'", "str", "a"),
        ('x = "a"', "str", "a"),
        ("x = ''", "str", ""),
        ("x = r'\\d+'", "str", "\\d+"),
        ('x = """multi\nline"""', "str", "multi\nline"),
        ("x = 'a' 'b'", "str", "ab"),
        ("x = 'é🎉'", "str", "é🎉"),
        ("x = None", "any", None),
        ("x = [1, 'a', None, 2.5]", "list", [1, "a", None, 2.5]),
        ("x = []", "list", []),
        ("x = (1, 2)", "list", [1, 2]),
        ("x = ()", "list", []),
        ("x = {3, 1, 2}", "list", [1, 2, 3]),
        ("x = set()", "list", []),
        ("x = {'a': 1}", "dict", {"a": 1}),
        ("x = {}", "dict", {}),
        ("x = {'a': [1, {'b': (None, -1)}]}", "dict", {"a": [1, {"b": [None, -1]}]}),
        ("x = [\n    1,\n    2,\n]", "list", [1, 2]),
    ],
)
def test_literal_defaults(source: str, type_: str, default: Any) -> None:
    parameter = only(params_spec(source))
    assert parameter.name == "x"
    assert parameter.type == type_
    assert parameter.default == default
    assert type(parameter.default) is type(default)
    assert parameter.annotation is None
    assert parameter.help == ""
    json.dumps(parameter.to_json(), allow_nan=False)


def test_negative_zero_default_keeps_its_sign() -> None:
    assert str(only(params_spec("x = -0.0")).default) == "-0.0"


def test_nested_tuple_default_becomes_lists() -> None:
    default = only(params_spec("x = ((1, 2), [3, (4,)])")).default
    assert default == [[1, 2], [3, [4]]]
    assert isinstance(default[0], list)
    assert isinstance(default[1][1], list)


def test_several_parameters_keep_their_order() -> None:
    spec = params_spec("b = 1\na = 'x'\n_private = 2\nc = None\n")
    assert [p.name for p in spec.parameters] == ["b", "a", "_private", "c"]
    assert [p.type for p in spec.parameters] == ["int", "str", "int", "any"]


def test_underscore_and_unicode_names_are_parameters() -> None:
    spec = params_spec("_n = 1\n__m = 2\nñame = 3\n")
    assert [p.name for p in spec.parameters] == ["_n", "__m", "ñame"]


def test_comments_and_blank_lines_are_allowed() -> None:
    spec = params_spec("# Parameters\n\n# a comment\nn = 1\n\n    \n# trailing\n")
    assert [p.name for p in spec.parameters] == ["n"]


def test_empty_parameters_cell_warns() -> None:
    spec = params_spec("# nothing here\n")
    assert spec.parameters == ()
    assert spec.parameters_cell == 0
    assert any("declares no parameters" in w for w in spec.warnings)


def test_duplicate_parameter_last_assignment_wins() -> None:
    spec = params_spec("n = 1\nm = 2\nn = 'x'\n")
    assert [(p.name, p.default, p.type) for p in spec.parameters] == [
        ("n", "x", "str"),
        ("m", 2, "int"),
    ]
    assert any("'n'" in w and "more than once" in w for w in spec.warnings)


def test_semicolon_separated_assignments() -> None:
    spec = params_spec("a = 1; b = 2  # for b\n")
    assert [(p.name, p.help) for p in spec.parameters] == [("a", ""), ("b", "for b")]


# --------------------------------------------------------------------------------------------
# annotations


@pytest.mark.parametrize(
    ("annotation", "default", "type_", "nullable"),
    [
        ("int", "1", "int", False),
        ("float", "1", "float", False),
        ("float", "1.5", "float", False),
        ("bool", "True", "bool", False),
        ("str", "'a'", "str", False),
        ("list", "[]", "list", False),
        ("dict", "{}", "dict", False),
        ("List[int]", "[1]", "list", False),
        ("list[str]", "['a']", "list", False),
        ("typing.List[int]", "[1]", "list", False),
        ("Tuple[int, int]", "(1, 2)", "list", False),
        ("Sequence[float]", "[1.0]", "list", False),
        ("Dict[str, int]", "{'a': 1}", "dict", False),
        ("dict[str, list[int]]", "{}", "dict", False),
        ("Mapping[str, int]", "{}", "dict", False),
        ("Optional[int]", "None", "int", True),
        ("Optional[int]", "3", "int", True),
        ("typing.Optional[float]", "None", "float", True),
        ("int | None", "None", "int", True),
        ("None | str", "None", "str", True),
        ("Union[int, None]", "None", "int", True),
        ("Union[int, float]", "1", "float", False),
        ("Union[int, str]", "1", "any", True),
        ("Optional[List[int]]", "None", "list", True),
        ("Any", "5", "any", True),
        ("typing.Any", "[1]", "any", True),
        ("'int'", "1", "int", False),
        ('"Optional[str]"', "None", "str", True),
        ("Literal['a', 'b']", "'a'", "str", False),
        ("Literal[1, 2]", "1", "int", False),
        ("Annotated[int, 'meta']", "1", "int", False),
        ("str", "None", "str", True),
        ("int", "None", "int", True),
        # Not one of ours: the default decides.
        ("np.ndarray", "[1, 2]", "list", False),
        ("MyType", "1", "int", False),
        ("pd.DataFrame", "None", "any", True),
    ],
)
def test_annotations(annotation: str, default: str, type_: str, nullable: bool) -> None:
    parameter = only(params_spec(f"x: {annotation} = {default}  # help"))
    assert parameter.type == type_
    assert parameter.annotation == annotation
    assert parameter.nullable is nullable
    assert parameter.help == "help"


def test_annotation_text_is_kept_as_written() -> None:
    spec = params_spec("n: int = 10\nxs: List[ int ] = []\nq: Optional[str] = None\nu = 1\n")
    assert [p.annotation for p in spec.parameters] == ["int", "List[ int ]", "Optional[str]", None]


def test_annotation_over_default_keeps_the_literal_default() -> None:
    parameter = only(params_spec("x: float = 1"))
    assert parameter.type == "float"
    assert parameter.default == 1
    assert parameter.to_json() == {
        "name": "x",
        "type": "float",
        "default": 1,
        "help": "",
        "nullable": False,
        "schema": {"type": "number", "default": 1},
    }


@pytest.mark.parametrize(
    ("annotation", "default"),
    [("int", "'a'"), ("bool", "0"), ("int", "1.5"), ("list", "{}"), ("str", "[1]")],
)
def test_annotation_disagreeing_with_default_warns(annotation: str, default: str) -> None:
    spec = params_spec(f"x: {annotation} = {default}")
    assert only(spec).type == annotation
    assert any("'x'" in w and "annotated" in w for w in spec.warnings)


def test_annotation_agreeing_with_default_does_not_warn() -> None:
    spec = params_spec("a: float = 1\nb: Optional[int] = None\nc: int = 2\nd: np.ndarray = 'x'\n")
    assert not any("annotated" in w for w in spec.warnings)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("int", ("int", False)),
        ("Optional[int]", ("int", True)),
        ("None", (None, True)),
        ("not valid python (", (None, False)),
        ("Union[int, np.ndarray]", (None, False)),
        ("Literal[None]", (None, True)),
        ("Literal['a', None]", ("str", True)),
        ("collections.abc.Sequence[int]", ("list", False)),
        ("builtins.int", ("int", False)),
        ("numpy.int64", (None, False)),
    ],
)
def test_annotation_type(text: str, expected: tuple[str | None, bool]) -> None:
    assert annotation_type(text) == expected


def test_type_comment_sets_the_annotation() -> None:
    parameter = only(params_spec("x = 1  # type: float how much"))
    assert parameter.type == "float"
    assert parameter.annotation == "float"
    assert parameter.help == "how much"


# --------------------------------------------------------------------------------------------
# help comments


@pytest.mark.parametrize(
    ("source", "help_text"),
    [
        ("n = 10  # how many", "how many"),
        ("n = 10 #how many", "how many"),
        ("n = 10  #   padded   ", "padded"),
        ("n = 10  # use #1 first", "use #1 first"),
        ("n = 10", ""),
        ("n = 10  #", ""),
        ("s = 'a # b'", ""),
        ('s = "a # b"', ""),
        ("s = '#'", ""),
        ('s = "a # b"  # the real one', "the real one"),
        ("s = '''a\n# not a comment\n'''", ""),
        ("s = '''a\n# not a comment\n'''  # after", "after"),
        ("x = [\n    1,  # one\n    2,\n]  # the list", "the list"),
        ("x = [\n    1,  # one\n    2,\n]", ""),
        ("# above is not help\nn = 1", ""),
        ("n: int = 10  # typed help", "typed help"),
        ("n = 1  # émoji 🎉 help", "émoji 🎉 help"),
    ],
)
def test_help_comments(source: str, help_text: str) -> None:
    assert only(params_spec(source)).help == help_text


def test_crlf_line_endings() -> None:
    spec = params_spec("n = 1  # first\r\nm = [\r\n  2,\r\n]  # second\r\n")
    assert [(p.name, p.default, p.help) for p in spec.parameters] == [
        ("n", 1, "first"),
        ("m", [2], "second"),
    ]


def test_help_belongs_to_its_own_line() -> None:
    spec = params_spec("a = 1  # for a\nb = 2\nc = 3  # for c\n")
    assert [p.help for p in spec.parameters] == ["for a", "", "for c"]


# --------------------------------------------------------------------------------------------
# invalid parameters cells


@pytest.mark.parametrize(
    ("source", "line", "words"),
    [
        ("n = int('3')", 1, "not a literal"),
        ("n = 1\nm = len([])", 2, "not a literal"),
        ("import os", 1, "Import"),
        ("from os import path", 1, "ImportFrom"),
        ("a = b = 1", 1, "chained"),
        ("a, b = 1, 2", 1, "single plain name"),
        ("[a, b] = [1, 2]", 1, "single plain name"),
        ("x = 1\nx += 1", 2, "AugAssign"),
        ("x.y = 1", 1, "single plain name"),
        ("x[0] = 1", 1, "single plain name"),
        ("n = 1\n\nn = (", 3, "syntax error"),
        ("n = 1\nprint(n)", 2, "Expr"),
        ("'a docstring'\nn = 1", 1, "Expr"),
        ("if True:\n    x = 1", 1, "If"),
        ("def f():\n    pass", 1, "FunctionDef"),
        ("n: int", 1, "without a default"),
        ("m = 1\nn = m", 2, "not a literal"),
        ("n = 10 ** 3", 1, "not a literal"),
        ("n = f'{1}'", 1, "not a literal"),
        ("n = lambda: 1", 1, "not a literal"),
        ("(n := 1)", 1, "Expr"),
        ("n = 1j", 1, "cannot be JSON"),
        ("n = {1: 'a'}", 1, "cannot be JSON"),
        ("n = 1e999", 1, "cannot be JSON"),
        ("n = [1, {2j}]", 1, "cannot be JSON"),
        ("n = [1, b'x']", 1, "cannot be JSON"),
        ("%matplotlib inline\nn = 1", 1, "syntax error"),
        ("n = 1\n!ls", 2, "syntax error"),
        ("n = __import__('os').system('touch X')", 1, "not a literal"),
        ("del n", 1, "Delete"),
        ("global n\nn = 1", 1, "Global"),
        ("n = 1 if True else 2", 1, "not a literal"),
        ("n = [*range(3)]", 1, "not a literal"),
    ],
)
def test_invalid_parameters_cell(source: str, line: int, words: str) -> None:
    error = invalid(source)
    assert f"line {line}" in error.message
    assert "cell 1" in error.message
    assert words in error.message
    assert error.extra["line"] == line
    assert error.status == 409


def test_null_byte_in_parameters_cell_is_invalid() -> None:
    error = invalid("n = 1\x00")
    assert error.cells == [1]


def test_deeply_nested_default_is_invalid_not_a_crash() -> None:
    invalid("n = " + "[" * 5000 + "]" * 5000)


# --------------------------------------------------------------------------------------------
# tag conflicts


def _raises_invalid(nb: Any) -> InvalidNotebook:
    with pytest.raises(InvalidNotebook) as info:
        load_spec(nb)
    return info.value


def test_two_parameters_cells() -> None:
    error = _raises_invalid(
        notebook(code("a = 1", "parameters"), md("x"), code("b = 1", "parameters"))
    )
    assert error.cells == [0, 2]
    assert "parameters" in error.message


def test_three_return_cells() -> None:
    error = _raises_invalid(
        notebook(code("1", "return"), code("2"), code("3", "return"), code("4", "return"))
    )
    assert error.cells == [0, 2, 3]
    assert error.to_json()["error"]["cells"] == [0, 2, 3]
    assert "return" in error.message


@pytest.mark.parametrize(
    "tags",
    [
        ("skip", "parameters"),
        ("parameters", "skip"),
        ("skip", "return"),
        ("parameters", "return"),
        ("injected-parameters", "parameters"),
        ("injected-parameters", "return"),
    ],
)
def test_conflicting_tags_on_one_cell(tags: tuple[str, ...]) -> None:
    error = _raises_invalid(notebook(code("x = 1"), md("m"), code("n = 1", *tags)))
    assert error.cells == [2]
    for tag in tags:
        assert f"'{tag}'" in error.message


def test_return_before_parameters() -> None:
    error = _raises_invalid(notebook(code("1", "return"), code("n = 1", "parameters")))
    assert error.cells == [0, 1]


def test_tag_conflicts_on_markdown_cells_are_only_warnings() -> None:
    spec = load_spec(
        notebook(
            md("a", "parameters"),
            code("n = 1", "parameters"),
            md("b", "return", "skip"),
            code("n", "return"),
            new_raw_cell("r", metadata={"tags": ["parameters"]}),
        )
    )
    assert spec.parameters_cell == 1
    assert spec.return_cell == 3
    assert spec.skip_cells == ()
    assert any("Cell 0 is a markdown cell" in w and "'parameters'" in w for w in spec.warnings)
    assert any("Cell 2" in w and "'skip'" in w and "'return'" in w for w in spec.warnings)
    assert any("Cell 4 is a raw cell" in w for w in spec.warnings)


# --------------------------------------------------------------------------------------------
# cell roles


def test_setup_body_skip_and_return() -> None:
    spec = load_spec(
        notebook(
            md("# Title"),  # 0
            code("import math"),  # 1 setup
            code("print('explore')", "skip"),  # 2 skip
            code("K = 2"),  # 3 setup
            code("n = 10  # how many", "parameters"),  # 4
            md("some prose"),  # 5
            code("y = n * K"),  # 6 body
            code("plot(y)", "skip"),  # 7 skip
            code("z = y + 1"),  # 8 body
            code("z", "return"),  # 9 return
            code("print('after')"),  # 10 after return
            code("show()", "skip"),  # 11 skip after return
            md("the end"),  # 12
        )
    )
    assert spec.parameters_cell == 4
    assert spec.setup_cells == (1, 3)
    assert spec.body_cells == (6, 8, 9)
    assert spec.skip_cells == (2, 7, 11)
    assert spec.return_cell == 9
    after = [w for w in spec.warnings if "after the return cell" in w]
    assert after == ["Cell 10 comes after the return cell and will not run."]
    assert len(spec.sources) == 13
    assert spec.sources[4] == "n = 10  # how many"
    assert len(spec.cell_ids) == 13
    assert all(isinstance(i, str) for i in spec.cell_ids)


def test_several_cells_after_return_are_listed() -> None:
    spec = load_spec(notebook(code("1", "return"), code("a"), md("b"), code("c")))
    assert "Cells 1, 3 come after the return cell and will not run." in spec.warnings
    assert spec.body_cells == (0,)


def test_empty_cells_after_return_are_not_worth_a_warning() -> None:
    # Shift+Enter on the return cell leaves an empty cell below it.
    spec = load_spec(notebook(code("1", "return"), code(""), code("  \n\t")))
    assert not [w for w in spec.warnings if "after the return cell" in w]
    spec = load_spec(notebook(code("1", "return"), code(""), code("x = 2")))
    assert "Cell 2 comes after the return cell and will not run." in spec.warnings


def test_no_parameters_cell_body_starts_at_the_top() -> None:
    spec = load_spec(
        notebook(code("import os"), code("x = 1", "skip"), code("y = 2"), code("y", "return"))
    )
    assert spec.parameters == ()
    assert spec.parameters_cell is None
    assert spec.setup_cells == ()
    assert spec.body_cells == (0, 2, 3)
    assert spec.skip_cells == (1,)
    assert any("No cell is tagged 'parameters'" in w for w in spec.warnings)


def test_untagged_notebook_runs_everything_and_returns_null() -> None:
    spec = load_spec(notebook(code("a = 1"), md("x"), code("a")))
    assert spec.body_cells == (0, 2)
    assert spec.return_cell is None
    assert spec.skip_cells == ()
    assert "No cell is tagged 'return': the result will be null." in spec.warnings
    assert not any("'parameters'" in w for w in spec.warnings)


def test_no_return_cell_body_runs_to_the_end() -> None:
    spec = load_spec(notebook(code("a = 1"), code("n = 1", "parameters"), code("b"), code("c")))
    assert spec.setup_cells == (0,)
    assert spec.body_cells == (2, 3)
    assert any("result will be null" in w for w in spec.warnings)


def test_parameters_cell_last() -> None:
    spec = load_spec(notebook(code("a = 1"), code("n = 1", "parameters")))
    assert spec.setup_cells == (0,)
    assert spec.body_cells == ()


def test_empty_notebook() -> None:
    spec = load_spec(new_notebook())
    assert spec.parameters == ()
    assert spec.body_cells == ()
    assert spec.sources == ()
    assert spec.return_cell is None


@pytest.mark.parametrize(
    ("source", "warns"),
    [
        ("x = 1\nx", False),
        ("x = 1\nresult = x", True),
        ("", True),
        ("# only a comment", True),
        ("import os", True),
        ("f(x)", False),
        ("%time y = 1\ny", False),
        ("y = 1\n%time y", False),
        ("!ls", False),
        ("for i in range(3):\n    pass", True),
        ("x = (\n", False),  # cannot tell: no warning rather than a wrong one
    ],
)
def test_return_cell_without_final_expression(source: str, warns: bool) -> None:
    spec = load_spec(notebook(code(source, "return")))
    warned = any("does not end with an expression" in w for w in spec.warnings)
    assert warned is warns


def test_tags_not_a_list_are_ignored_with_a_warning() -> None:
    nb = notebook(code("n = 1"), code("n", "return"))
    nb.cells[0].metadata["tags"] = "parameters"  # set after new_notebook, which validates
    spec = load_spec(nb)
    assert spec.parameters_cell is None
    assert any("not a list" in w for w in spec.warnings)


def test_unknown_and_non_string_tags_are_ignored() -> None:
    nb = notebook(code("n = 1"), code("n", "return"))
    nb.cells[0].metadata["tags"] = ["parameters", 3, None, "hide-input"]
    spec = load_spec(nb)
    assert spec.parameters_cell == 0
    assert spec.body_cells == (1,)


def test_magics_in_setup_and_body_cells_are_fine() -> None:
    spec = load_spec(
        notebook(
            code("%matplotlib inline\n!pip --version"),
            code("n = 1", "parameters"),
            code("%%time\nx = n"),
            code("x", "return"),
        )
    )
    assert spec.setup_cells == (0,)
    assert spec.body_cells == (2, 3)


# --------------------------------------------------------------------------------------------
# papermill compatibility


def test_papermill_injected_parameters_cell_is_ignored() -> None:
    original = notebook(
        code("import math"),
        code("n = 10  # how many\nname = 'x'", "parameters"),
        code("y = n * 2"),
        code("y", "return"),
    )
    for cell in original.cells:
        cell.metadata.setdefault("tags", [])  # papermill expects the key on every cell
    original.metadata["papermill"] = {}  # as papermill.execute_notebook prepares it
    executed = parameterize_notebook(
        original, {"n": 99, "name": "injected"}, kernel_name="python3", language="python"
    )
    injected_index = next(
        i
        for i, c in enumerate(executed.cells)
        if "injected-parameters" in c.metadata.get("tags", [])
    )
    assert injected_index == 2

    spec = load_spec(executed)
    assert spec.parameters_cell == 1
    assert [(p.name, p.default) for p in spec.parameters] == [("n", 10), ("name", "x")]
    assert spec.setup_cells == (0,)
    assert spec.body_cells == (3, 4)
    assert injected_index not in spec.body_cells
    assert injected_index not in spec.setup_cells
    assert spec.return_cell == 4
    assert any("injected-parameters" in w for w in spec.warnings)


def test_injected_cell_anywhere_is_excluded() -> None:
    spec = load_spec(
        notebook(
            code("a = 1", "injected-parameters"),
            code("n = 1", "parameters"),
            code("b = 2"),
            code("n = 5", "injected-parameters", "skip"),
            code("n", "return"),
        )
    )
    assert spec.setup_cells == ()
    assert spec.body_cells == (2, 4)
    assert spec.skip_cells == (3,)


def _legacy_notebook_json() -> dict[str, Any]:
    """A notebook as notebook_restified wrote them in 2019: nbformat 4.2, no cell ids."""
    return {
        "cells": [
            {
                "cell_type": "markdown",
                "metadata": {},
                "source": ["# Fibonacci\n", "Returns the n-th number."],
            },
            {
                "cell_type": "code",
                "execution_count": 1,
                "metadata": {"tags": ["parameters"]},
                "outputs": [],
                "source": ["n = 15"],
            },
            {
                "cell_type": "code",
                "execution_count": 2,
                "metadata": {},
                "outputs": [],
                "source": [
                    "def fib(k):\n",
                    "    a, b = 0, 1\n",
                    "    for _ in range(k):\n",
                    "        a, b = b, a + b\n",
                    "    return a",
                ],
            },
            {
                "cell_type": "code",
                "execution_count": 3,
                "metadata": {"tags": ["skip"]},
                "outputs": [{"name": "stdout", "output_type": "stream", "text": ["610\n"]}],
                "source": ["print(fib(n))"],
            },
            {
                "cell_type": "code",
                "execution_count": 4,
                "metadata": {"tags": ["return"]},
                "outputs": [
                    {
                        "data": {"text/plain": ["610"]},
                        "execution_count": 4,
                        "metadata": {},
                        "output_type": "execute_result",
                    }
                ],
                "source": ["fib(n)"],
            },
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {
                "codemirror_mode": {"name": "ipython", "version": 3},
                "file_extension": ".py",
                "mimetype": "text/x-python",
                "name": "python",
                "nbconvert_exporter": "python",
                "pygments_lexer": "ipython3",
                "version": "3.7.3",
            },
        },
        "nbformat": 4,
        "nbformat_minor": 2,
    }


def _check_legacy(spec: NotebookSpec) -> None:
    assert spec.parameters == (Parameter("n", "int", 15, "", None),)
    assert spec.parameters_cell == 1
    assert spec.setup_cells == ()
    assert spec.body_cells == (2, 4)
    assert spec.skip_cells == (3,)
    assert spec.return_cell == 4
    assert spec.cell_ids == (None,) * 5
    assert spec.sources[2].startswith("def fib(k):\n    a, b = 0, 1\n")
    assert spec.kernel_name == "python3"
    assert spec.language == "python"
    assert spec.warnings == ()


def test_2019_notebook_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "fib.ipynb"
    path.write_text(json.dumps(_legacy_notebook_json()), encoding="utf-8")
    _check_legacy(load_spec(path))
    _check_legacy(load_spec(str(path)))


def test_2019_notebook_from_a_plain_dict() -> None:
    _check_legacy(load_spec(_legacy_notebook_json()))


def test_notebook_node_from_nbformat_read(tmp_path: Path) -> None:
    path = tmp_path / "nb.ipynb"
    nbformat.write(notebook(code("n = 2", "parameters"), code("n", "return")), path)
    spec = load_spec(nbformat.read(path, as_version=4))
    assert spec == load_spec(path)
    assert spec.parameters[0].default == 2


# --------------------------------------------------------------------------------------------
# kernels and other languages


def test_kernel_and_language_defaults() -> None:
    nb = new_notebook(cells=[code("1", "return")])
    spec = load_spec(nb)
    assert (spec.kernel_name, spec.language) == ("python3", "python")
    assert spec.is_python


def test_language_from_kernelspec_when_no_language_info() -> None:
    nb = new_notebook(cells=[code("x = 1", "parameters")])
    nb.metadata["kernelspec"] = {"name": "ir", "language": "R", "display_name": "R"}
    spec = load_spec(nb)
    assert (spec.kernel_name, spec.language) == ("ir", "R")


def test_r_notebook_parameters_need_papermill_inspection() -> None:
    # papermill (2.7) implements parameter inspection for Python only: an R notebook still
    # gets its cells computed, with no parameters and a warning saying why.
    nb = notebook(
        code("library(stats)"),
        code('x = 1\ny <- "a"  # help', "parameters"),
        code("z <- x + 1", "skip"),
        code("x * 2", "return"),
        kernel="ir",
        language="R",
    )
    spec = load_spec(nb)
    assert not spec.is_python
    assert spec.kernel_name == "ir"
    assert spec.language == "R"
    assert spec.parameters == ()
    assert spec.parameters_cell == 1
    assert spec.setup_cells == (0,)
    assert spec.body_cells == (3,)
    assert spec.skip_cells == (2,)
    assert any("Papermill cannot read R parameters" in w for w in spec.warnings)
    # Not parsed as Python, so neither an error nor a return-cell warning.
    assert not any("does not end with an expression" in w for w in spec.warnings)


class FakeTranslator(Translator):
    """A third-party translator that can inspect its language's parameters cell."""

    @classmethod
    def inspect(cls, parameters_cell: Any) -> list[PapermillParameter]:
        assert "source" in parameters_cell
        return [
            PapermillParameter("x", "int", "1", "an int"),
            PapermillParameter("s", "None", '"a"', ""),
            PapermillParameter("flag", "None", "TRUE", ""),
            PapermillParameter("nothing_", "None", "NULL", ""),
            PapermillParameter("xs", "None", "c(1, 2)", ""),
            PapermillParameter("bad name", "int", "1", ""),
            PapermillParameter("import os; x", "None", "1", ""),
            PapermillParameter("class", "None", "1", ""),
        ]


def test_other_language_uses_papermill_inspect(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(papermill_translators._translators, "fakelang", FakeTranslator)
    nb = notebook(
        code("x <- 1", "parameters"), code("x", "return"), kernel="fakekernel", language="fakelang"
    )
    spec = load_spec(nb)
    assert [(p.name, p.type, p.default, p.help) for p in spec.parameters] == [
        ("x", "int", 1, "an int"),
        ("s", "str", "a", ""),
        ("flag", "bool", True, ""),
        ("nothing_", "any", None, ""),
        ("xs", "str", "c(1, 2)", ""),
    ]
    assert sum("not a plain identifier" in w for w in spec.warnings) == 3


def test_language_without_translator_has_no_parameters() -> None:
    nb = notebook(
        code("x = 1", "parameters"), code("x", "return"), kernel="cobol", language="cobol"
    )
    spec = load_spec(nb)
    assert spec.parameters == ()
    assert any("no translator" in w for w in spec.warnings)


def test_python_translator_kernel_is_parsed_as_python() -> None:
    # sparkmagic's pysparkkernel reports its own language name; papermill maps the kernel
    # to its Python translator, so the cell is Python.
    nb = notebook(
        code("n: float = 1  # help", "parameters"),
        code("n", "return"),
        kernel="pysparkkernel",
        language="pyspark",
    )
    spec = load_spec(nb)
    assert spec.is_python
    assert only(spec) == Parameter("n", "float", 1, "help", "float")


def test_python_kernel_with_an_invalid_cell_is_still_invalid() -> None:
    nb = notebook(code("n = f()", "parameters"), kernel="python3", language="python")
    with pytest.raises(InvalidNotebook):
        load_spec(nb)


# --------------------------------------------------------------------------------------------
# reading


def test_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound) as info:
        load_spec(tmp_path / "nope.ipynb")
    assert info.value.status == 404


def test_directory_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        load_spec(tmp_path)


@pytest.mark.parametrize(
    "content",
    [b"not json", b"{}", b'{"nbformat": 99, "cells": []}', b"\xff\xfe\x00"],
)
def test_unreadable_file_is_invalid(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.ipynb"
    path.write_bytes(content)
    with pytest.raises(InvalidNotebook):
        load_spec(path)


def test_dict_with_bad_cells_is_invalid() -> None:
    with pytest.raises(InvalidNotebook):
        load_spec({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": ["x"]})


def test_dict_with_list_sources_is_joined() -> None:
    nb = _legacy_notebook_json()
    spec = load_spec(nb)
    assert spec.sources[0] == "# Fibonacci\nReturns the n-th number."
    # The input is not modified.
    assert nb["cells"][0]["source"] == ["# Fibonacci\n", "Returns the n-th number."]


@pytest.mark.parametrize("restified", ["oops", ["isolation"], False, 0, ""])
def test_restified_metadata_that_is_no_object_is_warned_about(restified: Any) -> None:
    nb = notebook(code("n = 1", "parameters"), code("n", "return"))
    nb.metadata["restified"] = restified
    spec = load_spec(nb)
    assert (spec.isolation, spec.cache_ttl, spec.warmup) == (None, None, ())
    warned = [w for w in spec.warnings if w.startswith("metadata.restified is ")]
    assert warned == [
        f"metadata.restified is {json.dumps(restified)}; expected an object of settings"
        " (isolation, cache, warmup) (ignored)"
    ]


def test_restified_metadata_null_or_absent_is_no_warning() -> None:
    nb = notebook(code("n = 1", "parameters"), code("n", "return"))
    assert load_spec(nb).warnings == ()
    nb.metadata["restified"] = None
    assert load_spec(nb).warnings == ()


def test_reserved_parameter_names_warn() -> None:
    spec = params_spec("token = 'a'\nkey = 1\nn = 2\n")
    assert [p.name for p in spec.parameters] == ["token", "key", "n"]
    assert any("token, key" in w and "never be set" in w for w in spec.warnings)


# --------------------------------------------------------------------------------------------
# the spec object


def test_spec_to_json_and_lookup() -> None:
    spec = load_spec(
        notebook(
            code("import os"),
            code("n: int = 10  # how many\nx = None", "parameters"),
            code("show()", "skip"),
            code("n", "return"),
        )
    )
    body = spec.to_json()
    assert body == {
        "parameters": [
            {
                "name": "n",
                "type": "int",
                "default": 10,
                "help": "how many",
                "nullable": False,
                "schema": {"type": "integer", "default": 10, "description": "how many"},
            },
            {
                "name": "x",
                "type": "any",
                "default": None,
                "help": "",
                "nullable": True,
                "schema": {"default": None},
            },
        ],
        "parameters_cell": 1,
        "setup_cells": [0],
        "body_cells": [3],
        "skip_cells": [2],
        "return_cell": 3,
        "kernel": {"name": "python3", "language": "python"},
        "isolation": None,
        "cache": None,
        "warmup": [],
        "warnings": [],
    }
    json.dumps(body, allow_nan=False)
    n = spec.parameter("n")
    assert n is not None
    assert n.annotation == "int"
    assert spec.parameter("missing") is None
    assert spec.parameter("__import__('os')") is None


def test_spec_is_frozen_and_hashable() -> None:
    spec = params_spec("n = 1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.return_cell = 5  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.parameters[0].name = "m"  # type: ignore[misc]
    assert hash(spec.parameters[0]) == hash(Parameter("n", "int", 1, "", None))


# --------------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize(
    ("error", "status", "type_"),
    [
        (RestifiedError("m"), 500, "error"),
        (InvalidRequest("m"), 400, "invalid_request"),
        (NotFound("m"), 404, "not_found"),
        (InvalidNotebook("m", cells=[1, 2]), 409, "invalid_notebook"),
        (InvalidParameters([{"name": "n", "problem": "p"}]), 422, "invalid_parameters"),
        (NotAcceptable("m"), 406, "not_acceptable"),
        (ExecutionError(ename="ValueError", evalue="bad"), 500, "execution_error"),
        (KernelDied(), 502, "kernel_died"),
        (Busy(retry_after=3), 503, "busy"),
        (CallTimeout(time_limit=1.5), 504, "timeout"),
    ],
)
def test_error_status_type_and_pickling(error: RestifiedError, status: int, type_: str) -> None:
    assert error.status == status
    assert error.type == type_
    body = error.to_json()
    assert body["error"]["type"] == type_
    assert body["error"]["message"] == error.message == str(error)
    json.dumps(body, allow_nan=False)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert copy.to_json() == body
    assert copy.__dict__ == error.__dict__


def test_error_bodies() -> None:
    assert InvalidNotebook("two", cells=[1, 3]).to_json() == {
        "error": {"type": "invalid_notebook", "message": "two", "cells": [1, 3]}
    }
    params = InvalidParameters(
        [{"name": "n", "problem": "not an int"}, {"name": "x", "problem": "unknown"}]
    )
    assert params.details == [
        {"name": "n", "problem": "not an int"},
        {"name": "x", "problem": "unknown"},
    ]
    assert params.message == "Invalid parameters: n: not an int; x: unknown"
    assert params.to_json()["error"]["details"] == params.details
    assert InvalidParameters([], message="custom").message == "custom"
    assert Busy(retry_after=7).to_json()["error"]["retry_after"] == 7
    assert CallTimeout(time_limit=2.5).to_json()["error"]["time_limit"] == 2.5
    assert "2.5" in CallTimeout(time_limit=2.5).message
    assert RestifiedError("m", type="x", hint="h").to_json() == {
        "error": {"type": "error", "message": "m", "hint": "h"}
    }


def test_execution_error_strips_ansi_and_splits_lines() -> None:
    error = ExecutionError(
        cell_index=4,
        cell_id="abc",
        ename="\x1b[31mZeroDivisionError\x1b[0m",
        evalue="division by zero",
        traceback=[
            "\x1b[0;31m---------\x1b[0m",
            "\x1b[0;32mCell In[3], line 1\x1b[0m\n\x1b[1;32m----> 1\x1b[0m 1/0",
            "\x1b[0;31mZeroDivisionError\x1b[0m: division by zero",
        ],
    )
    assert error.ename == "ZeroDivisionError"
    assert error.traceback == [
        "---------",
        "Cell In[3], line 1",
        "----> 1 1/0",
        "ZeroDivisionError: division by zero",
    ]
    assert error.message == "ZeroDivisionError in cell 4: division by zero"
    body = error.to_json()["error"]
    assert body["cell_index"] == 4
    assert body["cell_id"] == "abc"
    assert body["traceback"] == error.traceback
    assert not any("\x1b" in line for line in body["traceback"])
    assert errors.strip_ansi("\x1b[1;31mred\x1b[0m plain") == "red plain"


def test_errors_are_exceptions() -> None:
    with pytest.raises(RestifiedError):
        raise NotFound("nope")
    assert isinstance(KernelDied(), RestifiedError)
    assert repr(NotFound("x")) == "NotFound('x')"
