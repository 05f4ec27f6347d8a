"""The benchmark notebooks' code, split by tags into what every contender needs, and the
result each call must give (computed by running the code in this process)."""

from __future__ import annotations

import ast
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat


@dataclass(frozen=True)
class Parameter:
    """One assignment of a ``parameters`` cell."""

    name: str
    annotation: str | None
    default: Any


@dataclass
class NotebookCode:
    """A tagged notebook split into the parts every way of running it needs."""

    name: str
    path: Path
    setup: str
    """Code cells before the ``parameters`` cell."""
    parameters_source: str
    parameters: tuple[Parameter, ...]
    body: str
    """Code cells after ``parameters`` up to the ``return`` cell, less its last expression."""
    result_expr: str
    """The ``return`` cell's last expression."""
    _namespace: dict[str, Any] | None = field(default=None, repr=False)
    _expected: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(cls, path: Path) -> NotebookCode:
        """Read the cells by their tags (``parameters``, ``skip``, ``return``)."""
        nb = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
        cells = [
            (str(cell.source), set(cell.metadata.get("tags", [])))
            for cell in nb.cells
            if cell.cell_type == "code"
        ]
        params_at = next(i for i, (_, tags) in enumerate(cells) if "parameters" in tags)
        return_at = next(i for i, (_, tags) in enumerate(cells) if "return" in tags)
        body = [src for src, tags in cells[params_at + 1 : return_at] if "skip" not in tags]
        prefix, result_expr = _split_last_expression(cells[return_at][0])
        return cls(
            name=path.stem,
            path=path,
            setup="\n".join(src for src, tags in cells[:params_at] if "skip" not in tags),
            parameters_source=cells[params_at][0],
            parameters=_parse_parameters(cells[params_at][0]),
            body="\n".join([*body, prefix]).strip("\n"),
            result_expr=result_expr,
        )

    def values_for(self, index: int) -> dict[str, Any]:
        """The values of call ``index``: ints vary over five values, the rest keep defaults."""
        return {
            p.name: p.default + index % 5 if isinstance(p.default, int) else p.default
            for p in self.parameters
        }

    def assignments(self, values: dict[str, Any]) -> str:
        """The injected parameters, as papermill writes them."""
        return "".join(f"{name} = {value!r}\n" for name, value in values.items())

    def expected(self, values: dict[str, Any]) -> Any:
        """The result of a call, computed by running the code in this process (as JSON)."""
        key = json.dumps(values, sort_keys=True)
        with self._lock:
            if key not in self._expected:
                if self._namespace is None:
                    self._namespace = {"__name__": "__bench__"}
                    exec(self.setup + "\n" + self.parameters_source, self._namespace)
                namespace = dict(self._namespace)
                exec(self.assignments(values) + self.body, namespace)
                value = eval(self.result_expr, namespace)
                self._expected[key] = json.loads(json.dumps(value))
            return self._expected[key]


def _split_last_expression(source: str) -> tuple[str, str]:
    tree = ast.parse(source)
    last = tree.body[-1]
    if not isinstance(last, ast.Expr):
        raise ValueError("the return cell must end with an expression")
    expr = ast.get_source_segment(source, last.value)
    assert expr is not None
    return "\n".join(source.splitlines()[: last.lineno - 1]), expr


def _parse_parameters(source: str) -> tuple[Parameter, ...]:
    found = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            annotation = ast.unparse(node.annotation)
            found.append(Parameter(node.target.id, annotation, ast.literal_eval(node.value)))
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            found.append(Parameter(node.targets[0].id, None, ast.literal_eval(node.value)))
    return tuple(found)
