"""Tests for notebook_restified.declarations: the parameters cell read on its own."""

from __future__ import annotations

from typing import Any

import pytest
from papermill.models import Parameter as PapermillParameter
from papermill.translators import Translator, papermill_translators

from notebook_restified.declarations import (
    Parameter,
    read_foreign_parameters,
    read_python_parameters,
)
from notebook_restified.errors import InvalidNotebook


def test_read_python_parameters() -> None:
    source = (
        "n: int = 10  # how many\n"
        "rate = 1  # type: float the rate\n"
        "names = ('a', 'b')\n"
        "x = 1; y = 2  # help of y only\n"
        "maybe: 'Optional[str]' = None\n"
    )
    parameters, warnings = read_python_parameters(source, 3)
    assert parameters == [
        Parameter("n", "int", 10, "how many", "int"),
        Parameter("rate", "float", 1, "the rate", "float"),
        Parameter("names", "list", ["a", "b"], ""),
        Parameter("x", "int", 1, ""),
        Parameter("y", "int", 2, "help of y only"),
        Parameter("maybe", "str", None, "", "'Optional[str]'"),
    ]
    assert warnings == []
    assert parameters[-1].nullable


def test_read_python_parameters_warns_about_mismatch_and_reassignment() -> None:
    parameters, warnings = read_python_parameters("n: int = 'x'\nn: int = 2\n", 0)
    assert parameters == [Parameter("n", "int", 2, "", "int")]
    assert len(warnings) == 2
    assert "does not match; request values are checked as int" in warnings[0]
    assert "assigned more than once" in warnings[1]


@pytest.mark.parametrize(
    ("source", "line", "words"),
    [
        ("x = 1\nx +=", 2, "syntax error"),
        ("a = b = 1", 1, "chained assignment"),
        ("a: int", 1, "an annotation without a default value"),
        ("x = 1\nprint(x)", 2, "only `name = literal` assignments are allowed, not Expr"),
        ("a.b = 1", 1, "the target must be a single plain name"),
        ("n = 1\n__builtins__ = None", 2, "'__builtins__' is a name Python reserves"),
        ("__import__ = 1", 1, "'__import__' is a name Python reserves"),
        ("a = f()", 1, "is not a literal"),
        ("a = float('nan')", 1, "is not a literal"),
        ("a = 1e999", 1, "cannot be JSON: it is not a finite number"),
        ("a = {1: 2}", 1, "cannot be JSON: its dict keys are not all strings"),
        ("a = 1j", 1, "cannot be JSON: a complex has no JSON form"),
        ("a = datetime.date(2024, 1, x)", 1, "is not a literal"),
        ("a = date(2024, 1, 1.5)", 1, "is not a literal"),
        ("a = Path(os.sep)", 1, "is not a literal"),
        ("a = datetime.datetime(2024, 1, 1, tzinfo=utc)", 1, "is not a literal"),
        # Another module's `date` (or an alias the cell cannot show) is no constructor.
        ("a = os.date(2024, 1, 1)", 1, "is not a literal ('os.date(2024, 1, 1)')"),
        ("a = dt.date(2024, 1, 1)", 1, "is not a literal"),
        ("a = x.datetime.date(2024, 1, 1)", 1, "is not a literal"),
        ("a = os.Path('x')", 1, "is not a literal"),
        # The constructor's own refusal is the reason.
        (
            "a = datetime.date(2024, 2, 30)",
            1,
            "'a' is not a valid date (day is out of range for month)",
        ),
        ("a = 1\na = date(2024, 13, 1)", 2, "not a valid date (month must be in 1..12)"),
        ("a = datetime.date(2024, month=1)", 1, "not a valid date (function missing required"),
        ("a = datetime.time(25)", 1, "'a' is not a valid time (hour must be in 0..23)"),
        ("a = datetime(2024, 1, 1, 12, 60)", 1, "not a valid date and time (minute must be"),
    ],
)
def test_read_python_parameters_refuses(source: str, line: int, words: str) -> None:
    with pytest.raises(InvalidNotebook, match="The parameters cell cannot be read") as caught:
        read_python_parameters(source, 5)
    assert words in str(caught.value)
    assert f"cell 5 (parameters), line {line}" in str(caught.value)
    assert caught.value.cells == [5]


class InspectingTranslator(Translator):
    """A translator whose inspect finds a fixed set of parameters."""

    @classmethod
    def inspect(cls, parameters_cell: Any) -> list[PapermillParameter]:
        return [
            PapermillParameter("x", "int", "1", "an int"),
            PapermillParameter("flag", "None", "TRUE", ""),
            PapermillParameter("s", "None", "c(1)", ""),
            PapermillParameter("not ok", "None", "1", ""),
        ]


class FailingTranslator(Translator):
    """A third-party translator whose inspect breaks."""

    @classmethod
    def inspect(cls, parameters_cell: Any) -> list[PapermillParameter]:
        raise RuntimeError("broken")


def test_read_foreign_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(papermill_translators._translators, "fakelang", InspectingTranslator)
    parameters, warnings = read_foreign_parameters("x <- 1", 0, "fakekernel", "fakelang")
    assert parameters == [
        Parameter("x", "int", 1, "an int", "int"),
        Parameter("flag", "bool", True, ""),
        Parameter("s", "str", "c(1)", ""),
    ]
    assert warnings == ["Parameter 'not ok' is not a plain identifier and is ignored."]


def test_read_foreign_parameters_when_papermill_cannot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(papermill_translators._translators, "brokenlang", FailingTranslator)
    assert read_foreign_parameters("x", 2, "k", "brokenlang") == (
        [],
        ["The parameters cell (2) could not be read: the endpoint takes none."],
    )
    parameters, warnings = read_foreign_parameters("x", 2, "cobol", "cobol")
    assert parameters == []
    assert "Papermill has no translator" in warnings[0]
