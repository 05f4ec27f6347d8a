"""Read a tagged notebook as a function: its parameters, the cells to run, and the result cell.

Pure: no kernel, no server. :func:`load_spec` takes a path or a notebook (node or plain dict,
as the contents manager returns it) and returns a :class:`NotebookSpec`, or raises
:class:`~notebook_restified.errors.InvalidNotebook` when the tags make no function.
"""

from __future__ import annotations

import ast
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .declarations import Parameter, read_foreign_parameters, read_python_parameters
from .errors import InvalidNotebook, NotFound
from .tags import TaggedCells, cells_phrase, read_tags
from .values import json_form

__all__ = [
    "RESERVED",
    "NotebookSpec",
    "load_spec",
]


def _nbf() -> Any:
    """nbformat, imported when needed: importing it costs seconds (its schema validator
    pulls in jsonschema's format checkers), and v4 notebooks, nearly all, are plain JSON."""
    import nbformat

    return nbformat


RESERVED = frozenset({"token", "key", "_xsrf"})
"""Transport arguments (auth token, share key, XSRF): a request can never set these."""


@dataclass(frozen=True)
class NotebookSpec:
    """A notebook read as a function.

    Cell indices refer to ``nb.cells``. ``setup_cells`` run before the parameters cell (and
    may be run ahead of time), ``body_cells`` after it up to and including ``return_cell``;
    neither includes ``skip`` cells or a saved ``injected-parameters`` cell.
    """

    parameters: tuple[Parameter, ...]
    parameters_cell: int | None
    setup_cells: tuple[int, ...]
    body_cells: tuple[int, ...]
    skip_cells: tuple[int, ...]
    return_cell: int | None
    kernel_name: str
    language: str
    warnings: tuple[str, ...]
    sources: tuple[str, ...]
    cell_ids: tuple[str | None, ...]
    isolation: str | None = None
    """The notebook's own choice (``metadata.restified.isolation``): ``"kernel"`` opts out
    of forking, for setup state that cannot survive a fork (sockets, threads, GPUs)."""
    cache_ttl: float | None = None
    """Seconds a call's answer may be answered again to the same call
    (``metadata.restified.cache.ttl``); ``None``: every call runs."""
    warmup: tuple[dict[str, Any], ...] = ()
    """The declared warm-up (``metadata.restified.warmup``): one object of parameter values
    per run of the body after setup (``{}``: the defaults), each checked like a call's JSON
    body; entries that fail the check are left out (with a warning)."""

    def parameter(self, name: str) -> Parameter | None:
        """The declared parameter called ``name``, or ``None``."""
        for parameter in self.parameters:
            if parameter.name == name:
                return parameter
        return None

    @property
    def is_python(self) -> bool:
        """Whether the notebook's parameters are Python (parsed with :mod:`ast`)."""
        return _is_python(self.kernel_name, self.language)

    def to_json(self) -> dict[str, Any]:
        """The spec as JSON (without the cell sources)."""
        return {
            "parameters": [p.to_json() for p in self.parameters],
            "parameters_cell": self.parameters_cell,
            "setup_cells": list(self.setup_cells),
            "body_cells": list(self.body_cells),
            "skip_cells": list(self.skip_cells),
            "return_cell": self.return_cell,
            "kernel": {"name": self.kernel_name, "language": self.language},
            "isolation": self.isolation,
            "cache": {"ttl": self.cache_ttl} if self.cache_ttl is not None else None,
            "warmup": [{k: json_form(v) for k, v in entry.items()} for entry in self.warmup],
            "warnings": list(self.warnings),
        }


# --------------------------------------------------------------------------------------------
# The kernel's language


def _is_python(kernel_name: str, language: str) -> bool:
    if language.lower() == "python":
        return True
    from papermill.exceptions import PapermillException
    from papermill.translators import PythonTranslator, papermill_translators

    try:
        translator = papermill_translators.find_translator(kernel_name, language)
    except PapermillException:
        return False
    return isinstance(translator, type) and issubclass(translator, PythonTranslator)


# --------------------------------------------------------------------------------------------
# Reading the notebook


def _read(source: str | os.PathLike[str] | Mapping[str, Any]) -> Any:
    """The notebook as an nbformat v4 node, leniently (no schema validation)."""
    if isinstance(source, Mapping):
        if source.get("nbformat", 4) == 4:
            return source
        try:
            return _nbf().convert(_nbf().from_dict(dict(source)), 4)
        except Exception as exc:
            raise InvalidNotebook(f"Not a readable notebook: {exc}") from None
    path = os.fspath(source)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise NotFound(f"No such notebook: {path}") from None
    except UnicodeDecodeError:
        raise InvalidNotebook(f"Not a notebook (not UTF-8 text): {path}") from None
    try:
        data = json.loads(text)
        if isinstance(data, dict) and data.get("nbformat") == 4:
            return data
        # reader.reads + convert, not nbformat.reads: that one validates against the schema,
        # which logs errors and warns about missing cell ids in files that run fine.
        return _nbf().convert(_nbf().reader.reads(text), 4)
    except Exception as exc:
        raise InvalidNotebook(f"Not a readable notebook: {path}: {exc}") from None


def _cell_source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        return "".join(str(s) for s in source)
    return str(source)


def _cells(nb: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    cells = nb.get("cells") or []
    if not isinstance(cells, list) or not all(isinstance(c, Mapping) for c in cells):
        raise InvalidNotebook("Not a readable notebook: 'cells' is not a list of cells.")
    return cells


def _kernel(metadata: Mapping[str, Any]) -> tuple[str, str]:
    """``(kernel name, language)`` from the notebook's metadata; Python when it says none."""
    kernelspec = metadata.get("kernelspec") or {}
    language_info = metadata.get("language_info") or {}
    kernel_name = str(kernelspec.get("name") or "python3")
    language = str(language_info.get("name") or kernelspec.get("language") or "python")
    return kernel_name, language


def _restified(metadata: Mapping[str, Any], warnings: list[str]) -> Mapping[str, Any]:
    """The notebook's ``metadata.restified``: an object, read by the functions below; anything
    else but null is warned about and ignored, as their own entries are."""
    restified = metadata.get("restified")
    if restified is None:
        return {}
    if not isinstance(restified, Mapping):
        warnings.append(
            f"metadata.restified is {json.dumps(restified, default=repr)}; expected an object"
            " of settings (isolation, cache, warmup) (ignored)"
        )
        return {}
    return restified


def _isolation(restified: Mapping[str, Any], warnings: list[str]) -> str | None:
    """The notebook's ``metadata.restified.isolation``; an unknown one is warned about and
    ignored."""
    isolation = restified.get("isolation")
    if isolation in ("fork", "kernel"):
        return str(isolation)
    if isolation is not None:
        warnings.append(
            f"metadata.restified.isolation is {isolation!r}; expected 'fork' or 'kernel' (ignored)"
        )
    return None


def _cache_ttl(restified: Mapping[str, Any], warnings: list[str]) -> float | None:
    """The notebook's ``metadata.restified.cache.ttl`` (seconds, a positive number); anything
    else is warned about, and nothing is cached."""
    cache = restified.get("cache")
    if cache is None:
        return None
    ttl = cache.get("ttl") if isinstance(cache, Mapping) else None
    if (
        isinstance(ttl, (int, float))
        and not isinstance(ttl, bool)
        and math.isfinite(ttl)
        and ttl > 0
    ):
        return float(ttl)
    warnings.append(
        f"metadata.restified.cache is {json.dumps(cache, default=repr)}; expected"
        ' {"ttl": seconds} with a positive number of seconds (nothing is cached)'
    )
    return None


def _warmup(
    restified: Mapping[str, Any], warnings: list[str]
) -> list[tuple[int | None, Mapping[str, Any]]]:
    """The entries of ``metadata.restified.warmup`` (not checked yet against the parameters):
    ``true`` is one run with the defaults, a list one run per object; anything else is
    warned about and ignored. Each entry comes with its position (``None`` for ``true``)."""
    warmup = restified.get("warmup")
    if warmup is None or warmup is False:
        return []
    if warmup is True:
        return [(None, {})]
    if not isinstance(warmup, list):
        warnings.append(
            f"metadata.restified.warmup is {warmup!r}; expected true, false or a list of "
            "objects of parameter values (ignored)"
        )
        return []
    entries: list[tuple[int | None, Mapping[str, Any]]] = []
    for position, entry in enumerate(warmup):
        if isinstance(entry, Mapping):
            entries.append((position, entry))
        else:
            warnings.append(
                f"metadata.restified.warmup[{position}] is not an object of parameter "
                "values (left out)"
            )
    return entries


def _checked_warmup(
    spec: NotebookSpec, entries: list[tuple[int | None, Mapping[str, Any]]]
) -> NotebookSpec:
    """``spec`` with the warm-up entries that pass a call's checks; a warning for each other."""
    from .errors import RestifiedError
    from .inject import render_injected
    from .parameters import check_json

    warnings = list(spec.warnings)
    kept: list[dict[str, Any]] = []
    if entries and not spec.is_python:
        warnings.append(
            "metadata.restified.warmup is ignored: warm-up runs in Python kernels only."
        )
        entries = []
    for position, entry in entries:
        where = "" if position is None else f"[{position}]"
        try:
            values = check_json(spec, entry)
            if values:
                render_injected(spec, values)  # as a call's would be, or left out here
            kept.append(values)
        except RestifiedError as exc:
            warnings.append(f"metadata.restified.warmup{where} is left out: {exc.message}")
    return replace(spec, warmup=tuple(kept), warnings=tuple(warnings))


# --------------------------------------------------------------------------------------------
# The parameters, the cells to run, and what will not run


def _declared_parameters(
    tagged: TaggedCells, sources: tuple[str, ...], kernel_name: str, language: str, python: bool
) -> tuple[list[Parameter], list[str]]:
    """The parameters cell's declarations, and warnings about them (or about its absence)."""
    cell = tagged.parameters_cell
    if cell is None:
        if tagged.skip or tagged.return_cell is not None:
            return [], [
                "No cell is tagged 'parameters': the endpoint takes no inputs and every cell "
                "before the return cell runs on each call."
            ]
        return [], []
    source = sources[cell]
    if python:
        parameters, warnings = read_python_parameters(source, cell)
    else:
        parameters, warnings = read_foreign_parameters(source, cell, kernel_name, language)
    if not parameters and python:
        warnings.append(f"The parameters cell ({cell}) declares no parameters.")
    reserved = [p.name for p in parameters if p.name in RESERVED]
    if reserved:
        warnings.append(
            f"Parameter(s) {', '.join(reserved)} share a name with a server argument and "
            "can never be set by a request."
        )
    return parameters, warnings


def _run_order(tagged: TaggedCells, cell_count: int) -> tuple[list[int], list[int]]:
    """``(setup, body)``: the code cells run before the parameters cell, and after it up to
    the return cell (or the end), leaving out the cells that never run."""
    excluded = tagged.excluded
    if tagged.parameters_cell is None:
        setup: list[int] = []
        start = 0
    else:
        setup = [i for i in tagged.code if i < tagged.parameters_cell and i not in excluded]
        start = tagged.parameters_cell + 1
    end = tagged.return_cell if tagged.return_cell is not None else cell_count - 1
    body = [i for i in tagged.code if start <= i <= end and i not in excluded]
    return setup, body


def _unrun_warnings(tagged: TaggedCells, sources: tuple[str, ...], python: bool) -> list[str]:
    """Warnings about what a call will not run: saved injected cells, the cells after the
    return cell, and the result itself when no cell gives it."""
    warnings: list[str] = []
    if tagged.injected:
        warnings.append(
            f"{cells_phrase(tagged.injected)} tagged 'injected-parameters' (saved by papermill) "
            "will not run; each call injects its own values."
        )
    return_cell = tagged.return_cell
    if return_cell is None:
        warnings.append("No cell is tagged 'return': the result will be null.")
        return warnings
    if python and _ends_with_expression(sources[return_cell]) is False:
        warnings.append(
            f"The return cell ({return_cell}) does not end with an expression: "
            "the result will be null."
        )
    # Empty cells (one left by Shift+Enter) lose nothing by not running: not worth a warning.
    after = [
        i
        for i in tagged.code
        if i > return_cell and i not in tagged.excluded and sources[i].strip()
    ]
    if after:
        verb = "comes" if len(after) == 1 else "come"
        warnings.append(f"{cells_phrase(after)} {verb} after the return cell and will not run.")
    return warnings


def _ends_with_expression(source: str) -> bool | None:
    """Whether the cell's last statement is an expression; ``None`` when it cannot be told."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        try:
            from IPython.core import inputtransformer2

            transformer: Any = inputtransformer2.TransformerManager
            tree = ast.parse(transformer().transform_cell(source))
        except Exception:
            return None
    except RecursionError:
        return None
    return bool(tree.body) and isinstance(tree.body[-1], ast.Expr)


# --------------------------------------------------------------------------------------------
# Loading


def load_spec(
    source: str | os.PathLike[str] | Mapping[str, Any],
) -> NotebookSpec:
    """Read the notebook at a path, or a notebook node/dict, as a :class:`NotebookSpec`.

    Raises :class:`~notebook_restified.errors.NotFound` for a missing file and
    :class:`~notebook_restified.errors.InvalidNotebook` when the notebook is unreadable or its
    tags make no function (two ``parameters`` or ``return`` cells, a cell tagged ``skip`` and
    ``parameters``/``return``, a ``return`` cell before the ``parameters`` cell, or a
    parameters cell that is not made of ``name = literal`` lines).
    """
    nb = _read(source)
    cells = _cells(nb)
    metadata = nb.get("metadata") or {}
    kernel_name, language = _kernel(metadata)
    warnings: list[str] = []
    restified = _restified(metadata, warnings)
    isolation = _isolation(restified, warnings)
    cache_ttl = _cache_ttl(restified, warnings)
    warmup = _warmup(restified, warnings)
    sources = tuple(_cell_source(c) for c in cells)
    cell_ids = tuple((str(c["id"]) if c.get("id") is not None else None) for c in cells)

    tagged = read_tags(cells, warnings)
    python = _is_python(kernel_name, language)
    parameters, found = _declared_parameters(tagged, sources, kernel_name, language, python)
    warnings.extend(found)
    setup, body = _run_order(tagged, len(cells))
    warnings.extend(_unrun_warnings(tagged, sources, python))

    spec = NotebookSpec(
        parameters=tuple(parameters),
        parameters_cell=tagged.parameters_cell,
        setup_cells=tuple(setup),
        body_cells=tuple(body),
        skip_cells=tagged.skip,
        return_cell=tagged.return_cell,
        kernel_name=kernel_name,
        language=language,
        warnings=tuple(warnings),
        sources=sources,
        cell_ids=cell_ids,
        isolation=isolation,
        cache_ttl=cache_ttl,
    )
    return _checked_warmup(spec, warmup) if warmup else spec
