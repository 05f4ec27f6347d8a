"""Tests for notebook_restified.tags: reading and checking the cell tags."""

from __future__ import annotations

from typing import Any

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell

from notebook_restified.errors import InvalidNotebook
from notebook_restified.tags import (
    TAG_INJECTED,
    TAG_PARAMETERS,
    TAG_RETURN,
    TAG_SKIP,
    TaggedCells,
    cell_tags,
    cells_phrase,
    check_cell_tags,
    read_tags,
)


def code(*tags: str) -> Any:
    return new_code_cell("x = 1", metadata={"tags": list(tags)})


def test_cells_phrase() -> None:
    assert cells_phrase([3]) == "Cell 3"
    assert cells_phrase([3, 5]) == "Cells 3, 5"


def test_cell_tags_keeps_strings_only() -> None:
    warnings: list[str] = []
    cell = {"metadata": {"tags": ["skip", 3, None, "x"]}}
    assert cell_tags(cell, 0, warnings) == {"skip", "x"}
    assert warnings == []


@pytest.mark.parametrize("cell", [{}, {"metadata": None}, {"metadata": []}, {"metadata": {}}])
def test_cell_tags_none(cell: dict[str, Any]) -> None:
    warnings: list[str] = []
    assert cell_tags(cell, 0, warnings) == set()
    assert warnings == []


def test_cell_tags_not_a_list_is_warned_about() -> None:
    warnings: list[str] = []
    assert cell_tags({"metadata": {"tags": "skip"}}, 4, warnings) == set()
    assert warnings == ["Cell 4: metadata.tags is not a list and is ignored."]


@pytest.mark.parametrize(
    "tags",
    [
        {TAG_SKIP, TAG_PARAMETERS},
        {TAG_SKIP, TAG_RETURN},
        {TAG_PARAMETERS, TAG_RETURN},
        {TAG_INJECTED, TAG_PARAMETERS},
        {TAG_INJECTED, TAG_RETURN},
    ],
)
def test_check_cell_tags_refuses_contradictions(tags: set[str]) -> None:
    with pytest.raises(InvalidNotebook, match="Cell 2 is tagged both") as caught:
        check_cell_tags(2, tags)
    assert caught.value.cells == [2]


@pytest.mark.parametrize("tags", [set(), {TAG_SKIP}, {TAG_SKIP, TAG_INJECTED}, {"other"}])
def test_check_cell_tags_accepts(tags: set[str]) -> None:
    check_cell_tags(0, tags)


def test_read_tags() -> None:
    cells = [
        code(),
        code(TAG_SKIP),
        code(TAG_PARAMETERS),
        code(TAG_INJECTED),
        new_markdown_cell("text", metadata={"tags": [TAG_RETURN]}),
        code(TAG_RETURN),
        code(),
    ]
    warnings: list[str] = []
    tagged = read_tags(cells, warnings)
    assert tagged == TaggedCells(
        code=(0, 1, 2, 3, 5, 6), parameters_cell=2, return_cell=5, skip=(1,), injected=(3,)
    )
    assert tagged.excluded == {1, 3}
    assert warnings == [
        "Cell 4 is a markdown cell, so its tag 'return' is ignored: only code cells run."
    ]


def test_read_tags_of_no_cells() -> None:
    assert read_tags([], []) == TaggedCells((), None, None, (), ())


@pytest.mark.parametrize("tag", [TAG_PARAMETERS, TAG_RETURN])
def test_read_tags_refuses_two_of_a_kind(tag: str) -> None:
    with pytest.raises(InvalidNotebook, match=f"Cells 0, 2 are all tagged '{tag}'") as caught:
        read_tags([code(tag), code(), code(tag)], [])
    assert caught.value.cells == [0, 2]


def test_read_tags_refuses_return_before_parameters() -> None:
    with pytest.raises(InvalidNotebook, match="comes before the parameters cell") as caught:
        read_tags([code(TAG_RETURN), code(TAG_PARAMETERS)], [])
    assert caught.value.cells == [0, 1]
