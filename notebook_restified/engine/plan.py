"""The call plan: which cells a warm kernel runs ahead of time, which cells one call runs,
what a warm kernel depends on, and which isolation mode a notebook gets."""

from __future__ import annotations

import hashlib
import os
import weakref
from collections.abc import Mapping
from typing import Any

from ..inject import render_injected, typed_defaults
from ..spec import NotebookSpec

ISOLATION_MODES = ("fork", "kernel")


def _cell(spec: NotebookSpec, index: int) -> dict[str, Any]:
    return {
        "index": index,
        "id": spec.cell_ids[index],
        "source": spec.sources[index],
        "return": index == spec.return_cell,
    }


def setup_cells(spec: NotebookSpec) -> list[dict[str, Any]]:
    """The cells a warm kernel runs ahead of any call: setup, then the parameters cell, then
    (where a default is written as text) the defaults given their declared types."""
    cells = [_cell(spec, i) for i in spec.setup_cells]
    if spec.parameters_cell is not None:
        cells.append(_cell(spec, spec.parameters_cell))
        typed = typed_defaults(spec)
        if typed:
            cells.append(
                {
                    "index": None,
                    "id": "typed-defaults",
                    "source": typed,
                    "return": False,
                    "plain": True,
                }
            )
    return cells


def call_cells(spec: NotebookSpec, values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The cells of one call: the injected parameters (if any), the body, the return cell."""
    cells = []
    if values:
        cells.append(
            {
                "index": None,
                "id": "injected-parameters",
                "source": render_injected(spec, values),
                "return": False,
                "plain": True,  # literals only: no IPython syntax to transform
            }
        )
    return cells + [_cell(spec, i) for i in spec.body_cells]


def call_cell_count(spec: NotebookSpec, values: Mapping[str, Any]) -> int:
    """How many cells :func:`call_cells` gives, without rendering the injected one."""
    return (1 if values else 0) + len(spec.body_cells)


#: Values holding more elements than this (a text counting one per 64 characters) are
#: rendered into the injected cell off the event loop.
MANY_ELEMENTS = 5000


def many_elements(values: Mapping[str, Any], budget: int = MANY_ELEMENTS) -> bool:
    """Whether ``values`` hold more than ``budget`` elements, counted only that far (so
    asking costs little even of millions)."""
    pending: list[Any] = list(values.values())
    while pending:
        value = pending.pop()
        budget -= 1
        if isinstance(value, (str, bytes, bytearray)):
            budget -= len(value) // 64
        elif isinstance(value, Mapping):
            budget -= len(value)
            if budget >= 0:
                pending.extend(value.values())
        elif isinstance(value, (list, tuple, set, frozenset)):
            budget -= len(value)
            if budget >= 0:
                pending.extend(value)
        if budget < 0:
            return True
    return False


def warmup_cells(spec: NotebookSpec) -> list[list[dict[str, Any]]]:
    """The cells of each declared warm-up run (``metadata.restified.warmup``): what a call
    with those values would run. Empty when none is declared."""
    return [call_cells(spec, values) for values in spec.warmup]


# warm_key of each spec object alive (specs are immutable and kept by the server's spec
# cache, so each call of a notebook passes the same object): by id, dropped with the spec.
_warm_keys: dict[int, str] = {}


def warm_key(spec: NotebookSpec) -> str:
    """What a warm kernel depends on: kernel, setup and parameters cells; with a declared
    warm-up also the body and the warm-up's values (the warm-up runs them). Worked out once
    per spec object (the typed defaults and the warm-up's cells are rendered for it)."""
    key = _warm_keys.get(id(spec))
    if key is None:
        key = _warm_key(spec)
        _warm_keys[id(spec)] = key
        # Runs as the spec is collected, before its id can be another object's.
        weakref.finalize(spec, _warm_keys.pop, id(spec), None)
    return key


def _warm_key(spec: NotebookSpec) -> str:
    digest = hashlib.sha256()
    for part in (spec.kernel_name, spec.language, *(c["source"] for c in setup_cells(spec))):
        digest.update(part.encode("utf-8") + b"\0")
    if spec.warmup:
        digest.update(b"warmup\0")
        for cells in warmup_cells(spec):
            for cell in cells:
                digest.update(cell["source"].encode("utf-8") + b"\0")
            digest.update(b"\1")
    return digest.hexdigest()


def choose_isolation(spec: NotebookSpec, configured: str) -> str:
    """``fork`` only where it can work (a Python kernel on a platform with fork) and where
    neither the server nor the notebook (``metadata.restified.isolation``) opted out."""
    if (
        configured == "fork"
        and spec.isolation != "kernel"
        and spec.language == "python"
        and hasattr(os, "fork")
    ):
        return "fork"
    return "kernel"
