"""The parameters cell read as declarations: each input's name, type, default and help.

Pure: no kernel, no server. A Python cell is read from its syntax tree (only
``name [: annotation] = literal  # help`` lines); another language's cell through papermill's
translator for it.
"""

from __future__ import annotations

import ast
import datetime
import io
import json
import keyword
import logging
import math
import pathlib
import re
import tokenize
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import InvalidNotebook
from .parameter_types import (
    JSON_KINDS,
    NONE_NAMES,
    ValueType,
    annotation_value_type,
    fits,
    json_schema,
    range_comment,
    type_of,
    value_type_of,
)
from .values import ValueProblem, check_value, json_form, reject_constant, unmet_bounds

__all__ = ["Parameter", "read_foreign_parameters", "read_python_parameters"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Parameter:
    """One input of the notebook, declared in its ``parameters`` cell.

    ``type`` is one of :data:`~notebook_restified.parameter_types.PARAMETER_TYPES`;
    ``default`` is its JSON form (tuples and sets become lists, dates ISO text, bytes base64);
    ``help`` is the trailing comment of the assignment; ``annotation`` the annotation's source
    text, if any. ``value_type`` is what request values are checked against: read from the
    annotation (else the default) and the help comment's range, unless given.
    """

    name: str
    type: str
    default: Any
    help: str
    annotation: str | None = None
    value_type: ValueType = field(default=None, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        value_type = self.value_type
        if value_type is None:
            declared = annotation_value_type(self.annotation) if self.annotation else None
            value_type = declared or ValueType(self.type, nullable=self.type == "any")
            value_type = range_comment(self.help, value_type)
        if value_type.kind != self.type:
            value_type = ValueType(self.type, nullable=self.type == "any")
        if self.default is None and not value_type.nullable:
            value_type = replace(value_type, nullable=True)
        object.__setattr__(self, "value_type", value_type)

    @property
    def nullable(self) -> bool:
        """Whether ``None`` (JSON ``null``) is an acceptable value.

        True when the default is ``None``, the type is ``any`` (unless its choices, a
        ``Literal`` of mixed types, leave ``None`` out), or the annotation admits ``None``
        (``Optional[int]``, ``int | None``, ...).
        """
        return self.value_type.admits_null

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of a value (as in a JSON body), with the default and the help:
        the same object in the spec JSON and the OpenAPI document."""
        schema = json_schema(self.value_type)
        if _schema_admits(schema, self.default):
            schema["default"] = self.default
        if self.help:
            schema["description"] = self.help
        return schema

    def to_json(self) -> dict[str, Any]:
        """``{"name", "type", "default", "help", "nullable", "schema"}``."""
        return {
            "name": self.name,
            "type": self.type,
            "default": self.default,
            "help": self.help,
            "nullable": self.nullable,
            "schema": self.schema(),
        }


def _schema_admits(schema: dict[str, Any], default: Any) -> bool:
    """Whether a default may stand in the schema: a date-time or time without an offset is
    not RFC 3339's (the spec's ``default`` still gives it)."""
    if not isinstance(default, str) or schema.get("format") not in ("date-time", "time"):
        return True
    return bool(re.search(r"(?:[zZ]|[+-]\d\d:?\d\d)$", default))


# --------------------------------------------------------------------------------------------
# Defaults


class _NotJSON(ValueError):
    """A literal default that JSON cannot represent."""


def _jsonable(value: Any, top: bool = True) -> Any:
    """Convert a literal to its JSON-able form (tuples and sets become lists; a date, time,
    path or bytes default its text, though not inside a list or dict)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _NotJSON("it is not a finite number")
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, False) for v in value]
    if isinstance(value, set):
        items = [_jsonable(v, False) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise _NotJSON("its dict keys are not all strings")
        return {k: _jsonable(v, False) for k, v in value.items()}
    if top and isinstance(value, (datetime.date, datetime.time, pathlib.PurePath, bytes)):
        return json_form(value)
    raise _NotJSON(f"a {type(value).__name__} has no JSON form")


# --------------------------------------------------------------------------------------------
# A Python parameters cell


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


def _parse(source: str, cell: int) -> ast.Module:
    try:
        return ast.parse(source)
    except SyntaxError as exc:
        raise _invalid_line(cell, exc.lineno, f"syntax error ({exc.msg})") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise _invalid_line(cell, None, str(exc) or type(exc).__name__) from None


def _assignment(stmt: ast.stmt, cell: int) -> tuple[str, ast.expr, ast.expr | None]:
    """``(name, value, annotation)`` of a ``name [: annotation] = value`` statement; any
    other statement is an invalid parameters cell."""
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
    if name.startswith("__") and name.endswith("__"):
        # `__builtins__ = None` would take every name the call's code looks up.
        raise _invalid_line(cell, stmt.lineno, f"{name!r} is a name Python reserves")
    return name, value_node, annotation_node


# Constructor calls a default may be written as: `datetime.date(2024, 1, 31)`,
# `datetime(2024, 1, 31, 12, minute=30)`, `time(12, 30)`, `pathlib.Path("data.csv")`: the
# name alone or on its module, never another name's `date` (`os.date(...)`, an alias).
_DATES: dict[str, type[datetime.date] | type[datetime.time]] = {
    "date": datetime.date,
    "datetime": datetime.datetime,
    "time": datetime.time,
}
_PATHS = ("Path", "PurePath", "PosixPath", "PurePosixPath")
_CONSTRUCTORS: dict[str, Any] = {
    **{spelling: cls for name, cls in _DATES.items() for spelling in (name, f"datetime.{name}")},
    **{
        spelling: pathlib.PurePosixPath for name in _PATHS for spelling in (name, f"pathlib.{name}")
    },
}
_DATE_ARGUMENTS = frozenset({"year", "month", "day", "hour", "minute", "second", "microsecond"})


class _InvalidDate(ValueError):
    """Integer arguments the constructor refuses (``datetime.date(2024, 2, 30)``)."""

    def __init__(self, constructor: Any, reason: str) -> None:
        names = {datetime.datetime: "date and time", datetime.time: "time"}
        super().__init__(f"not a valid {names.get(constructor, 'date')} ({reason})")


def _call_name(node: ast.expr) -> str | None:
    """``date`` or ``datetime.date``: the dotted name a call's function is written as."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    return None


def _constructed(node: ast.Call) -> Any:
    """The value of a date, datetime, time or path constructor call with literal arguments
    (integers for the dates, one string for a path); :class:`ValueError` for any other call,
    :class:`_InvalidDate` for integers that make no date. Read from the syntax tree: nothing
    is called but the constructor itself."""
    constructor = _CONSTRUCTORS.get(_call_name(node.func) or "")
    if constructor is None:
        raise ValueError("not a constructor call")
    args = [ast.literal_eval(a) for a in node.args]
    kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
    if len(kwargs) != len(node.keywords):
        raise ValueError("**arguments")
    if constructor is pathlib.PurePosixPath:
        if kwargs or not all(isinstance(a, str) for a in args):
            raise ValueError("a path from strings only")
        return constructor(*args)
    if set(kwargs) - _DATE_ARGUMENTS or not all(type(v) is int for v in [*args, *kwargs.values()]):
        raise ValueError("integer arguments only")
    try:
        return constructor(*args, **kwargs)
    except (ValueError, TypeError, OverflowError) as exc:
        raise _InvalidDate(constructor, str(exc)) from None


def _literal(value_node: ast.expr) -> Any:
    if isinstance(value_node, ast.Call) and _call_name(value_node.func) in _CONSTRUCTORS:
        return _constructed(value_node)
    return ast.literal_eval(value_node)  # set() included


def _default(source: str, cell: int, line: int, name: str, value_node: ast.expr) -> Any:
    """The default a literal (or a date/time/path constructor call) assigns, as a Python
    value; anything else is an invalid parameters cell."""
    segment = ast.get_source_segment(source, value_node) or ""
    try:
        literal = _literal(value_node)
    except _InvalidDate as exc:
        raise _invalid_line(
            cell, line, f"the value of {name!r} is {exc}: {segment[:60]!r}"
        ) from None
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError, OverflowError):
        raise _invalid_line(
            cell,
            line,
            f"the value of {name!r} is not a literal ({segment[:60]!r}); only numbers, "
            "strings, bytes, booleans, None, lists/dicts/tuples of those, and calls of "
            "date/datetime/time (alone or as datetime.<name>) with integer arguments or of "
            "Path (alone or as pathlib.Path) with strings",
        ) from None
    try:
        _jsonable(literal)
    except _NotJSON as exc:
        raise _invalid_line(cell, line, f"the default of {name!r} cannot be JSON: {exc}") from None
    return literal


def _help_and_annotation(comment: str | None, annotation: str | None) -> tuple[str, str | None]:
    """The help text of a trailing comment, and the annotation, which a ``# type: T help``
    comment gives when the assignment has none."""
    if comment is None:
        return "", annotation
    help_text = comment.lstrip("#").strip()
    type_comment = _TYPE_COMMENT.fullmatch(help_text)
    if type_comment:
        return type_comment["help"].strip(), annotation or type_comment["type"]
    return help_text, annotation


def _value_type(default: Any, annotation: str | None, help_text: str) -> tuple[ValueType, str]:
    """What a parameter takes (its annotation's type, else its default's, with the help
    comment's range), and a problem with its bounds or its default, if any."""
    declared = annotation_value_type(annotation) if annotation else None
    value_type = range_comment(help_text, declared or value_type_of(default))
    if default is None and not value_type.nullable:
        value_type = replace(value_type, nullable=True)
    # The annotation's bounds and the help comment's range are checked alike.
    never = unmet_bounds(value_type)
    if never:
        return value_type, f"its bounds can never be met ({never}): no value a request sends fits."
    if default is None or (declared is not None and declared.kind == "any"):
        return value_type, ""
    if declared is None:
        if not value_type.has_bounds:  # the default's own type: nothing else to check
            return value_type, ""
    elif not fits(declared.kind, default):
        return value_type, (
            f"it is annotated {annotation}, but its default {_shown(default)} does not "
            f"match; request values are checked as {declared.kind}."
        )
    try:
        check_value(value_type, default)
    except ValueProblem as exc:
        return value_type, f"its default {_shown(default)} does not fit its type: {exc}."
    return value_type, ""


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def read_python_parameters(source: str, cell: int) -> tuple[list[Parameter], list[str]]:
    """The parameters a Python parameters cell declares, and warnings about them.

    Only ``name [: annotation] = literal`` statements are allowed; anything else raises
    :class:`~notebook_restified.errors.InvalidNotebook` naming cell ``cell`` and the line.
    A name assigned twice keeps its last default.
    """
    tree = _parse(source, cell)
    comments = _comments(source)
    last_on_line = {stmt.end_lineno or stmt.lineno: stmt for stmt in tree.body}
    found: dict[str, Parameter] = {}
    warnings: list[str] = []
    for stmt in tree.body:
        name, value_node, annotation_node = _assignment(stmt, cell)
        default = _default(source, cell, stmt.lineno, name, value_node)
        annotation: str | None = None
        if annotation_node is not None:
            annotation = ast.get_source_segment(source, annotation_node) or ast.unparse(
                annotation_node
            )
        end = stmt.end_lineno or stmt.lineno
        # A comment is the help of the last statement on its line only.
        comment = comments.get(end) if last_on_line[end] is stmt else None
        help_text, annotation = _help_and_annotation(comment, annotation)

        value_type, problem = _value_type(default, annotation, help_text)
        if problem:
            warnings.append(f"Parameter {name!r}: {problem}")
        if name in found:
            warnings.append(
                f"Parameter {name!r} is assigned more than once in the parameters cell; "
                "the last assignment is its default."
            )
        found[name] = Parameter(
            name, value_type.kind, _jsonable(default), help_text, annotation, value_type
        )
    return list(found.values()), warnings


# --------------------------------------------------------------------------------------------
# Other languages, through papermill

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
        value = json.loads(text, parse_constant=reject_constant)
    except (ValueError, RecursionError):
        return text
    return value


def _inspect(source: str, cell: int, kernel_name: str, language: str) -> tuple[Any, str]:
    """Papermill's view of the cell's parameters, or none and a warning saying why."""
    from papermill.exceptions import PapermillException
    from papermill.translators import papermill_translators

    try:
        translator = papermill_translators.find_translator(kernel_name, language)
    except PapermillException:
        return [], (
            f"Papermill has no translator for kernel {kernel_name!r} / language {language!r}: "
            "the endpoint takes no parameters."
        )
    try:
        from nbformat import v4  # imported here: nbformat is slow to import, rarely needed

        new_code_cell: Any = v4.new_code_cell
        return translator.inspect(new_code_cell(source=source)), ""
    except NotImplementedError:
        return [], (
            f"Papermill cannot read {language} parameters cells, so the endpoint takes no "
            "parameters (the cell's values are used as they are)."
        )
    except Exception:  # a third-party translator; its failure must not break the spec
        log.warning("papermill could not inspect parameters cell %d", cell, exc_info=True)
        return [], f"The parameters cell ({cell}) could not be read: the endpoint takes none."


def read_foreign_parameters(
    source: str, cell: int, kernel_name: str, language: str
) -> tuple[list[Parameter], list[str]]:
    """The parameters of a non-Python parameters cell, from papermill's translator
    ``inspect``, and warnings; a cell papermill cannot read declares none (with a warning)."""
    found, problem = _inspect(source, cell, kernel_name, language)
    if problem:
        return [], [problem]
    parameters: dict[str, Parameter] = {}
    warnings: list[str] = []
    for item in found:
        name = str(item.name)
        # Names are written into code by the injector: only plain identifiers qualify.
        if not name.isidentifier() or keyword.iskeyword(name):
            warnings.append(f"Parameter {name!r} is not a plain identifier and is ignored.")
            continue
        inferred = str(item.inferred_type_name or "None")
        annotation = None if inferred in NONE_NAMES else inferred
        default = _foreign_default(str(item.default))
        declared = annotation_value_type(annotation) if annotation else None
        if declared is not None and declared.kind not in JSON_KINDS:
            declared = None  # dates, paths and bytes are Python's; other kernels get JSON kinds
        type_ = declared.kind if declared else (type_of(default) if default is not None else "any")
        parameters[name] = Parameter(name, type_, default, str(item.help or ""), annotation)
    return list(parameters.values()), warnings
