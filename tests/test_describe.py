"""Titles, descriptions and form fields of a notebook (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from notebook_restified.describe import describe_notebook, form_fields
from notebook_restified.spec import load_spec


def nb(*cells: tuple[str, str, list[str]], **metadata: Any) -> dict[str, Any]:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "language": "python"}, **metadata},
        "cells": [
            {"cell_type": kind, "source": source, "metadata": {"tags": tags}}
            | ({"outputs": [], "execution_count": None} if kind == "code" else {})
            for kind, source, tags in cells
        ],
    }


def test_title_and_description() -> None:
    notebook = nb(("code", "x = 1", []), ("markdown", "## Sales <b>\n\nBy region.\n\nMore.", []))
    assert describe_notebook(notebook, "dir/s.ipynb") == ("Sales <b>", "By region.\n\nMore.")
    titled = nb(("markdown", "# Heading\nText", []), title="From metadata")
    assert describe_notebook(titled, "s.ipynb") == ("From metadata", "Text")
    assert describe_notebook(nb(("markdown", "Just text", [])), "d/t.ipynb") == ("t", "Just text")
    assert describe_notebook(nb(("code", "1", [])), "d/t.ipynb") == ("t", "")
    long = describe_notebook(nb(("markdown", "x" * 5000, [])), "t.ipynb")[1]
    assert len(long) == 2000
    assert long.endswith("…")


@pytest.mark.parametrize(
    ("declaration", "expected"),
    [
        ("a = 1", {"input": "integer"}),
        ("a = 1.5", {"input": "number"}),
        ("a = True", {"input": "checkbox"}),
        ("a = 'x'", {"input": "text"}),
        ("a = [1]", {"input": "json"}),
        ("a = None", {"input": "json", "nullable": True}),
        ("a: Literal['n', 's'] = 'n'", {"input": "select", "choices": ["n", "s"]}),
        ("a: Optional[Literal[1, 2]] = 1", {"input": "select", "choices": [1, 2]}),
        ("a: Literal['n'] | None = None", {"input": "select", "choices": ["n"]}),
        ("a: date = '2026-01-01'", {"input": "date"}),
        ("a: datetime.datetime = '2026-01-01T00:00'", {"input": "datetime"}),
    ],
)
def test_form_fields(declaration: str, expected: dict[str, Any]) -> None:
    spec = load_spec(nb(("code", declaration, ["parameters"]), ("code", "a", ["return"])))
    (field,) = form_fields(spec)
    assert field["name"] == "a"
    assert {k: field[k] for k in expected} == expected
    if "choices" not in expected:
        assert "choices" not in field
