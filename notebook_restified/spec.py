"""Read a tagged notebook as a function: its parameters, the cells to run, and the result cell.

Pure: no kernel, no server. :func:`load_spec` takes a path or a notebook (node or plain dict,
as the contents manager returns it) and returns a :class:`NotebookSpec`, or raises
:class:`~notebook_restified.errors.InvalidNotebook` when the tags make no function.
"""

from __future__ import annotations

import ast
import io
import json
import keyword
import logging
import math
import os
import re
import tokenize
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import InvalidNotebook, NotFound

__all__ = [
    "PARAMETER_TYPES",
    "RESERVED",
    "TAG_INJECTED",
    "TAG_PARAMETERS",
    "TAG_RETURN",
    "TAG_SKIP",
    "NotebookSpec",
    "Parameter",
    "annotation_type",
    "load_spec",
]

log = logging.getLogger(__name__)


def _nbf() -> Any:
    """nbformat, imported when needed: importing it costs seconds (its schema validator
    pulls in jsonschema's format checkers), and v4 notebooks, nearly all, are plain JSON."""
    import nbformat

    return nbformat


TAG_PARAMETERS = "parameters"
TAG_SKIP = "skip"
TAG_RETURN = "return"
TAG_INJECTED = "injected-parameters"
_OUR_TAGS = (TAG_PARAMETERS, TAG_SKIP, TAG_RETURN, TAG_INJECTED)

PARAMETER_TYPES = ("int", "float", "bool", "str", "list", "dict", "any")

RESERVED = frozenset({"token", "key", "_xsrf"})
"""Transport arguments (auth token, share key, XSRF): a request can never set these."""

# Annotation names (after dropping a typing/builtins/collections.abc prefix) that name one of
# our types.
_ANNOTATION_NAMES: dict[str, str] = {
    "int": "int",
    "float": "float",
    "bool": "bool",
    "str": "str",
    "list": "list",
    "List": "list",
    "tuple": "list",
    "Tuple": "list",
    "Sequence": "list",
    "MutableSequence": "list",
    "set": "list",
    "Set": "list",
    "dict": "dict",
    "Dict": "dict",
    "Mapping": "dict",
    "MutableMapping": "dict",
    "Any": "any",
    "object": "any",
}
_ANNOTATION_PREFIXES = ("typing.", "typing_extensions.", "builtins.", "collections.abc.", "t.")
_NONE_NAMES = frozenset({"None", "NoneType"})


@dataclass(frozen=True)
class Parameter:
    """One input of the notebook, declared in its ``parameters`` cell.

    ``type`` is one of :data:`PARAMETER_TYPES`; ``default`` is JSON-able (tuples and sets
    become lists); ``help`` is the trailing comment of the assignment; ``annotation`` the
    annotation's source text, if any.
    """

    name: str
    type: str
    default: Any
    help: str
    annotation: str | None = None

    @property
    def nullable(self) -> bool:
        """Whether ``None`` (JSON ``null``) is an acceptable value.

        True when the default is ``None``, the type is ``any``, or the annotation admits
        ``None`` (``Optional[int]``, ``int | None``, ...).
        """
        if self.default is None or self.type == "any":
            return True
        return self.annotation is not None and annotation_type(self.annotation)[1]

    def to_json(self) -> dict[str, Any]:
        """``{"name", "type", "default", "help"}``."""
        return {"name": self.name, "type": self.type, "default": self.default, "help": self.help}


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
            "warnings": list(self.warnings),
        }


# --------------------------------------------------------------------------------------------
# Annotations and literal types


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    if isinstance(node, ast.Constant) and node.value is None:
        return "None"
    return None


def _short_name(node: ast.expr) -> str | None:
    name = _dotted(node)
    if name is None:
        return None
    for prefix in _ANNOTATION_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _union(members: Iterable[ast.expr]) -> tuple[str | None, bool]:
    types: set[str] = set()
    nullable = False
    for member in members:
        member_type, member_nullable = _annotation_node_type(member)
        if member_type is None and not member_nullable:
            return None, False
        nullable = nullable or member_nullable
        if member_type is not None:
            types.add(member_type)
    if types == {"int", "float"}:
        return "float", nullable
    if len(types) == 1:
        return types.pop(), nullable
    return ("any" if types else None), nullable


def _annotation_node_type(node: ast.expr) -> tuple[str | None, bool]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return annotation_type(node.value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union([node.left, node.right])
    if isinstance(node, ast.Subscript):
        outer = _short_name(node.value)
        args = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
        if outer == "Optional" and len(args) == 1:
            return _annotation_node_type(args[0])[0], True
        if outer == "Union":
            return _union(args)
        if outer == "Annotated" and args:
            return _annotation_node_type(args[0])
        if outer == "Literal":
            values = [a.value for a in args if isinstance(a, ast.Constant)]
            if len(values) != len(args):
                return None, False
            kinds = {_type_of(v) for v in values if v is not None}
            if not kinds:
                return None, True
            return (kinds.pop() if len(kinds) == 1 else "any"), None in values
        return (_ANNOTATION_NAMES.get(outer) if outer else None), False
    name = _short_name(node)
    if name in _NONE_NAMES:
        return None, True
    return (_ANNOTATION_NAMES.get(name) if name else None), False


def annotation_type(annotation: str) -> tuple[str | None, bool]:
    """Map an annotation's source text to ``(type, nullable)``.

    ``type`` is one of :data:`PARAMETER_TYPES`, or ``None`` when the annotation names none of
    them (``np.ndarray``); ``nullable`` is whether it admits ``None``.

    >>> annotation_type("Optional[List[int]]")
    ('list', True)
    """
    try:
        node = ast.parse(annotation.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError):
        return None, False
    return _annotation_node_type(node)


def _type_of(value: Any) -> str:
    """Our type for a (JSON-able) default value."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (list, tuple, set)):
        return "list"
    if isinstance(value, dict):
        return "dict"
    return "any"


def _fits(type_: str, value: Any) -> bool:
    """Whether a default of ``value`` agrees with the declared ``type_``."""
    if value is None or type_ == "any":
        return True
    actual = _type_of(value)
    return actual == type_ or (type_ == "float" and actual == "int")


class _NotJSON(ValueError):
    """A literal default that JSON cannot represent."""


def _jsonable(value: Any) -> Any:
    """Convert a literal to its JSON-able form (tuples and sets become lists)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _NotJSON("it is not a finite number")
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, set):
        items = [_jsonable(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise _NotJSON("its dict keys are not all strings")
        return {k: _jsonable(v) for k, v in value.items()}
    raise _NotJSON(f"a {type(value).__name__} has no JSON form")


# --------------------------------------------------------------------------------------------
# The parameters cell


def _comments(source: str) -> dict[int, str]:
    """Comment text by (1-based) line, found with tokenize so ``#`` in strings is ignored."""
    comments: dict[int, str] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                comments[token.start[0]] = token.string
    except (tokenize.TokenError, SyntaxError):
        log.debug("could not tokenize a parameters cell that ast accepted", exc_info=True)
    return comments


_TYPE_COMMENT = re.compile(r"type:\s*(?P<type>\S+)\s*(?P<help>.*)")


def _invalid_line(cell: int, line: int | None, problem: str) -> InvalidNotebook:
    where = f"cell {cell} (parameters), line {line}" if line else f"cell {cell} (parameters)"
    return InvalidNotebook(
        f"The parameters cell cannot be read: {where}: {problem}.", cells=[cell], line=line
    )


def _python_parameters(source: str, cell: int) -> tuple[list[Parameter], list[str]]:
    """Parse a Python parameters cell: only ``name [: annotation] = literal`` statements."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise _invalid_line(cell, exc.lineno, f"syntax error ({exc.msg})") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise _invalid_line(cell, None, str(exc) or type(exc).__name__) from None

    comments = _comments(source)
    last_on_line = {stmt.end_lineno or stmt.lineno: stmt for stmt in tree.body}
    found: dict[str, Parameter] = {}
    warnings: list[str] = []
    for stmt in tree.body:
        annotation_node: ast.expr | None = None
        if isinstance(stmt, ast.Assign):
            if len(stmt.targets) != 1:
                raise _invalid_line(cell, stmt.lineno, "chained assignment (a = b = ...)")
            target, value_node = stmt.targets[0], stmt.value
        elif isinstance(stmt, ast.AnnAssign):
            if stmt.value is None:
                raise _invalid_line(cell, stmt.lineno, "an annotation without a default value")
            target, value_node, annotation_node = stmt.target, stmt.value, stmt.annotation
        else:
            kind = type(stmt).__name__
            raise _invalid_line(
                cell, stmt.lineno, f"only `name = literal` assignments are allowed, not {kind}"
            )
        if not isinstance(target, ast.Name):
            raise _invalid_line(cell, stmt.lineno, "the target must be a single plain name")
        name = target.id
        # ast only yields identifiers; this guards the invariant the injector relies on.
        if not name.isidentifier() or keyword.iskeyword(name):
            raise _invalid_line(cell, stmt.lineno, f"{name!r} is not a valid name")
        try:
            literal = ast.literal_eval(value_node)
        except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
            segment = ast.get_source_segment(source, value_node) or ""
            raise _invalid_line(
                cell,
                stmt.lineno,
                f"the value of {name!r} is not a literal ({segment[:60]!r}); "
                "only numbers, strings, booleans, None and lists/dicts/tuples of those",
            ) from None
        try:
            default = _jsonable(literal)
        except _NotJSON as exc:
            raise _invalid_line(
                cell, stmt.lineno, f"the default of {name!r} cannot be JSON: {exc}"
            ) from None

        annotation: str | None = None
        if annotation_node is not None:
            annotation = ast.get_source_segment(source, annotation_node) or ast.unparse(
                annotation_node
            )
        help_text = ""
        end = stmt.end_lineno or stmt.lineno
        if last_on_line[end] is stmt and end in comments:
            help_text = comments[end].lstrip("#").strip()
            type_comment = _TYPE_COMMENT.fullmatch(help_text)
            if type_comment:
                annotation = annotation or type_comment["type"]
                help_text = type_comment["help"].strip()

        declared = annotation_type(annotation)[0] if annotation else None
        type_ = declared or _type_of(default)
        if declared and not _fits(declared, default):
            warnings.append(
                f"Parameter {name!r} is annotated {annotation}, but its default "
                f"{default!r} does not match; request values are checked as {declared}."
            )
        if name in found:
            warnings.append(
                f"Parameter {name!r} is assigned more than once in the parameters cell; "
                "the last assignment is its default."
            )
        found[name] = Parameter(name, type_, default, help_text, annotation)
    return list(found.values()), warnings


# --------------------------------------------------------------------------------------------
# Other languages, through papermill


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


# Common non-JSON spellings of constants in the languages papermill supports.
_FOREIGN_CONSTANTS: dict[str, Any] = {
    "TRUE": True,
    "FALSE": False,
    "True": True,
    "False": False,
    "NULL": None,
    "None": None,
    "nothing": None,
    "$True": True,
    "$False": False,
    "$Null": None,
}


def _foreign_default(text: str) -> Any:
    text = text.strip()
    if text in _FOREIGN_CONSTANTS:
        return _FOREIGN_CONSTANTS[text]
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return text
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _foreign_parameters(
    source: str, cell: int, kernel_name: str, language: str
) -> tuple[list[Parameter], list[str]]:
    """Parameters of a non-Python cell, from papermill's translator ``inspect``."""
    from papermill.exceptions import PapermillException
    from papermill.translators import papermill_translators

    try:
        translator = papermill_translators.find_translator(kernel_name, language)
    except PapermillException:
        return [], [
            f"Papermill has no translator for kernel {kernel_name!r} / language {language!r}: "
            "the endpoint takes no parameters."
        ]
    try:
        found = translator.inspect(_nbf().v4.new_code_cell(source=source))
    except NotImplementedError:
        return [], [
            f"Papermill cannot read {language} parameters cells, so the endpoint takes no "
            "parameters (the cell's values are used as they are)."
        ]
    except Exception:  # a third-party translator; its failure must not break the spec
        log.warning("papermill could not inspect parameters cell %d", cell, exc_info=True)
        return [], [f"The parameters cell ({cell}) could not be read: the endpoint takes none."]

    parameters: dict[str, Parameter] = {}
    warnings: list[str] = []
    for item in found:
        name = str(item.name)
        # Names are written into code by the injector: only plain identifiers qualify.
        if not name.isidentifier() or keyword.iskeyword(name):
            warnings.append(f"Parameter {name!r} is not a plain identifier and is ignored.")
            continue
        inferred = str(item.inferred_type_name or "None")
        annotation = None if inferred in _NONE_NAMES else inferred
        default = _foreign_default(str(item.default))
        declared = annotation_type(annotation)[0] if annotation else None
        type_ = declared or (_type_of(default) if default is not None else "any")
        parameters[name] = Parameter(name, type_, default, str(item.help or ""), annotation)
    return list(parameters.values()), warnings


# --------------------------------------------------------------------------------------------
# The return cell


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


def _cell_tags(cell: Mapping[str, Any], index: int, warnings: list[str]) -> set[str]:
    metadata = cell.get("metadata") or {}
    tags = metadata.get("tags") if isinstance(metadata, Mapping) else None
    if tags is None:
        return set()
    if not isinstance(tags, list):
        warnings.append(f"Cell {index}: metadata.tags is not a list and is ignored.")
        return set()
    return {t for t in tags if isinstance(t, str)}


def _cells_phrase(cells: list[int]) -> str:
    if len(cells) == 1:
        return f"Cell {cells[0]}"
    return "Cells " + ", ".join(str(c) for c in cells)


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
    cells = nb.get("cells") or []
    if not isinstance(cells, list) or not all(isinstance(c, Mapping) for c in cells):
        raise InvalidNotebook("Not a readable notebook: 'cells' is not a list of cells.")
    metadata = nb.get("metadata") or {}
    kernelspec = metadata.get("kernelspec") or {}
    language_info = metadata.get("language_info") or {}
    kernel_name = str(kernelspec.get("name") or "python3")
    language = str(language_info.get("name") or kernelspec.get("language") or "python")

    warnings: list[str] = []
    restified = metadata.get("restified") or {}
    isolation = restified.get("isolation") if isinstance(restified, Mapping) else None
    if isolation not in (None, "fork", "kernel"):
        warnings.append(
            f"metadata.restified.isolation is {isolation!r}; expected 'fork' or 'kernel' (ignored)"
        )
        isolation = None
    sources = tuple(_cell_source(c) for c in cells)
    cell_ids = tuple((str(c["id"]) if c.get("id") is not None else None) for c in cells)

    code: list[int] = []
    tags_of: dict[int, set[str]] = {}
    for index, cell in enumerate(cells):
        tags = _cell_tags(cell, index, warnings)
        ours = [t for t in _OUR_TAGS if t in tags]
        if cell.get("cell_type") != "code":
            if ours:
                kind = cell.get("cell_type") or "non-code"
                names = ", ".join(f"'{t}'" for t in ours)
                warnings.append(
                    f"Cell {index} is a {kind} cell, so its tag {names} is ignored: "
                    "only code cells run."
                )
            continue
        code.append(index)
        tags_of[index] = tags
        if TAG_SKIP in tags and (TAG_PARAMETERS in tags or TAG_RETURN in tags):
            other = TAG_PARAMETERS if TAG_PARAMETERS in tags else TAG_RETURN
            raise InvalidNotebook(
                f"Cell {index} is tagged both 'skip' and '{other}'.", cells=[index]
            )
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

    def tagged(tag: str) -> list[int]:
        return [i for i in code if tag in tags_of[i]]

    parameters_cells = tagged(TAG_PARAMETERS)
    return_cells = tagged(TAG_RETURN)
    skip = tagged(TAG_SKIP)
    injected = tagged(TAG_INJECTED)
    for tag, found in ((TAG_PARAMETERS, parameters_cells), (TAG_RETURN, return_cells)):
        if len(found) > 1:
            raise InvalidNotebook(
                f"{_cells_phrase(found)} are all tagged '{tag}'; a notebook may have only one.",
                cells=found,
            )
    parameters_cell = parameters_cells[0] if parameters_cells else None
    return_cell = return_cells[0] if return_cells else None
    if parameters_cell is not None and return_cell is not None and return_cell < parameters_cell:
        raise InvalidNotebook(
            f"The return cell ({return_cell}) comes before the parameters cell "
            f"({parameters_cell}), so the result could not depend on the parameters.",
            cells=[return_cell, parameters_cell],
        )

    python = _is_python(kernel_name, language)
    parameters: list[Parameter] = []
    if parameters_cell is not None:
        if python:
            parameters, found_warnings = _python_parameters(
                sources[parameters_cell], parameters_cell
            )
        else:
            parameters, found_warnings = _foreign_parameters(
                sources[parameters_cell], parameters_cell, kernel_name, language
            )
        warnings.extend(found_warnings)
        if not parameters and python:
            warnings.append(f"The parameters cell ({parameters_cell}) declares no parameters.")
        reserved = [p.name for p in parameters if p.name in RESERVED]
        if reserved:
            warnings.append(
                f"Parameter(s) {', '.join(reserved)} share a name with a server argument and "
                "can never be set by a request."
            )
    elif any(tags_of[i] & {TAG_SKIP, TAG_RETURN} for i in code):
        warnings.append(
            "No cell is tagged 'parameters': the endpoint takes no inputs and every cell "
            "before the return cell runs on each call."
        )

    excluded = set(skip) | set(injected)
    if parameters_cell is None:
        setup: list[int] = []
        start = 0
    else:
        setup = [i for i in code if i < parameters_cell and i not in excluded]
        start = parameters_cell + 1
    end = return_cell if return_cell is not None else len(cells) - 1
    body = [i for i in code if start <= i <= end and i not in excluded]

    if injected:
        warnings.append(
            f"{_cells_phrase(injected)} tagged 'injected-parameters' (saved by papermill) "
            "will not run; each call injects its own values."
        )
    if return_cell is None:
        warnings.append("No cell is tagged 'return': the result will be null.")
    else:
        if python and _ends_with_expression(sources[return_cell]) is False:
            warnings.append(
                f"The return cell ({return_cell}) does not end with an expression: "
                "the result will be null."
            )
        after = [i for i in code if i > return_cell and i not in excluded]
        if after:
            verb = "comes" if len(after) == 1 else "come"
            warnings.append(
                f"{_cells_phrase(after)} {verb} after the return cell and will not run."
            )

    return NotebookSpec(
        parameters=tuple(parameters),
        parameters_cell=parameters_cell,
        setup_cells=tuple(setup),
        body_cells=tuple(body),
        skip_cells=tuple(skip),
        return_cell=return_cell,
        kernel_name=kernel_name,
        language=language,
        warnings=tuple(warnings),
        sources=sources,
        cell_ids=cell_ids,
        isolation=isolation,
    )
