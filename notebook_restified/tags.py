"""The cell tags that make a notebook a function, read and checked.

Pure: no kernel, no server. :func:`read_tags` finds the ``parameters``, ``return``, ``skip``
and ``injected-parameters`` code cells of a notebook, or raises
:class:`~notebook_restified.errors.InvalidNotebook` when the tags make no function.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import InvalidNotebook

__all__ = [
    "OUR_TAGS",
    "TAG_INJECTED",
    "TAG_PARAMETERS",
    "TAG_RETURN",
    "TAG_SKIP",
    "TaggedCells",
    "cell_tags",
    "cells_phrase",
    "check_cell_tags",
    "read_tags",
]

TAG_PARAMETERS = "parameters"
TAG_SKIP = "skip"
TAG_RETURN = "return"
TAG_INJECTED = "injected-parameters"
OUR_TAGS = (TAG_PARAMETERS, TAG_SKIP, TAG_RETURN, TAG_INJECTED)
"""Every tag this package reads, in the order messages name them."""


@dataclass(frozen=True)
class TaggedCells:
    """Where a notebook's tags are: indices into its cells, code cells only."""

    code: tuple[int, ...]
    parameters_cell: int | None
    return_cell: int | None
    skip: tuple[int, ...]
    injected: tuple[int, ...]

    @property
    def excluded(self) -> frozenset[int]:
        """The code cells a call never runs: ``skip`` cells and saved injected cells."""
        return frozenset(self.skip) | frozenset(self.injected)


def cells_phrase(cells: Sequence[int]) -> str:
    """``Cell 3`` or ``Cells 3, 5``: the start of a message about these cells."""
    if len(cells) == 1:
        return f"Cell {cells[0]}"
    return "Cells " + ", ".join(str(c) for c in cells)


def cell_tags(cell: Mapping[str, Any], index: int, warnings: list[str]) -> set[str]:
    """The string tags of one cell; a ``metadata.tags`` that is not a list is warned about
    in ``warnings`` and read as no tags."""
    metadata = cell.get("metadata") or {}
    tags = metadata.get("tags") if isinstance(metadata, Mapping) else None
    if tags is None:
        return set()
    if not isinstance(tags, list):
        warnings.append(f"Cell {index}: metadata.tags is not a list and is ignored.")
        return set()
    return {t for t in tags if isinstance(t, str)}


def check_cell_tags(index: int, tags: set[str]) -> None:
    """Raise :class:`~notebook_restified.errors.InvalidNotebook` if the tags of code cell
    ``index`` contradict each other (``skip`` or ``injected-parameters`` with ``parameters``
    or ``return``, or ``parameters`` with ``return``)."""
    if TAG_SKIP in tags and (TAG_PARAMETERS in tags or TAG_RETURN in tags):
        other = TAG_PARAMETERS if TAG_PARAMETERS in tags else TAG_RETURN
        raise InvalidNotebook(f"Cell {index} is tagged both 'skip' and '{other}'.", cells=[index])
    if TAG_PARAMETERS in tags and TAG_RETURN in tags:
        raise InvalidNotebook(
            f"Cell {index} is tagged both 'parameters' and 'return'; the parameters cell "
            "only assigns, so it cannot give the result.",
            cells=[index],
        )
    if TAG_INJECTED in tags and (TAG_PARAMETERS in tags or TAG_RETURN in tags):
        other = TAG_PARAMETERS if TAG_PARAMETERS in tags else TAG_RETURN
        raise InvalidNotebook(
            f"Cell {index} is tagged both 'injected-parameters' and '{other}'.",
            cells=[index],
        )


def _code_cell_tags(cell: Mapping[str, Any], index: int, warnings: list[str]) -> set[str] | None:
    """The checked tags of a code cell; ``None`` for any other cell, whose tags of ours are
    warned about (they are never run)."""
    tags = cell_tags(cell, index, warnings)
    if cell.get("cell_type") == "code":
        check_cell_tags(index, tags)
        return tags
    ours = [t for t in OUR_TAGS if t in tags]
    if ours:
        kind = cell.get("cell_type") or "non-code"
        names = ", ".join(f"'{t}'" for t in ours)
        warnings.append(
            f"Cell {index} is a {kind} cell, so its tag {names} is ignored: only code cells run."
        )
    return None


def _the_one(tag: str, found: list[int]) -> int | None:
    """The one cell tagged ``tag``, or ``None``; more than one is an invalid notebook."""
    if len(found) > 1:
        raise InvalidNotebook(
            f"{cells_phrase(found)} are all tagged '{tag}'; a notebook may have only one.",
            cells=found,
        )
    return found[0] if found else None


def read_tags(cells: Sequence[Mapping[str, Any]], warnings: list[str]) -> TaggedCells:
    """Find the tagged code cells, appending to ``warnings`` what is ignored.

    Raises :class:`~notebook_restified.errors.InvalidNotebook` when the tags make no function:
    a cell with contradicting tags, two ``parameters`` or two ``return`` cells, or a
    ``return`` cell before the ``parameters`` cell.
    """
    tags_of: dict[int, set[str]] = {}
    for index, cell in enumerate(cells):
        tags = _code_cell_tags(cell, index, warnings)
        if tags is not None:
            tags_of[index] = tags

    def tagged(tag: str) -> list[int]:
        return [i for i, tags in tags_of.items() if tag in tags]

    parameters_cells, return_cells = tagged(TAG_PARAMETERS), tagged(TAG_RETURN)
    parameters_cell = _the_one(TAG_PARAMETERS, parameters_cells)
    return_cell = _the_one(TAG_RETURN, return_cells)
    if parameters_cell is not None and return_cell is not None and return_cell < parameters_cell:
        raise InvalidNotebook(
            f"The return cell ({return_cell}) comes before the parameters cell "
            f"({parameters_cell}), so the result could not depend on the parameters.",
            cells=[return_cell, parameters_cell],
        )
    return TaggedCells(
        code=tuple(tags_of),
        parameters_cell=parameters_cell,
        return_cell=return_cell,
        skip=tuple(tagged(TAG_SKIP)),
        injected=tuple(tagged(TAG_INJECTED)),
    )
