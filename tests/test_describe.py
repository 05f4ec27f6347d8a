"""Titles, descriptions and form fields of a notebook (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from notebook_restified.describe import describe_notebook, form_fields, saved_result_kind
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


def with_outputs(*outputs: dict[str, Any]) -> dict[str, Any]:
    notebook = nb(("code", "x = 1", ["parameters"]), ("code", "x", ["return"]))
    notebook["cells"][1]["outputs"] = list(outputs)
    return notebook


def result(data: dict[str, Any]) -> dict[str, Any]:
    return {"output_type": "execute_result", "data": data, "metadata": {}, "execution_count": 1}


def test_saved_result_kind() -> None:
    png = {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}
    frame = {
        "text/html": ["<div>\n", '<table border="1" class="dataframe">\n', "</table></div>"],
        "text/plain": "   a\n0  1",
    }
    assert saved_result_kind(with_outputs(result(png)), 1) == "image"
    assert saved_result_kind(with_outputs(result(frame)), 1) == "table"
    assert saved_result_kind(with_outputs(result({"text/plain": "3"})), 1) == "json"
    # A plot the cell draws on its way is no result: only the cell's value counts.
    drawn = {"output_type": "display_data", "data": png, "metadata": {}}
    stream = {"output_type": "stream", "name": "stdout", "text": "hi"}
    assert saved_result_kind(with_outputs(drawn, stream, result({"text/plain": "3"})), 1) == "json"
    assert saved_result_kind(with_outputs(drawn), 1) is None
    # Saved without outputs, no return cell, or a cell out of range: unknown.
    assert saved_result_kind(with_outputs(), 1) is None
    assert saved_result_kind(with_outputs(result(png)), None) is None
    assert saved_result_kind(with_outputs(result(png)), 7) is None
