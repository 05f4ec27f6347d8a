"""The contract's one table: every error a caller can get and every way to authenticate.

Pure: no kernel, no server. The OpenAPI document's responses and security schemes, the
README's errors table and the frontend's ``src/api/contract.ts`` are all made from it; a test
fails when the README or the TypeScript file differs from what it makes.

Regenerate both after changing the table::

    python -m notebook_restified.contract --write
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import errors

__all__ = [
    "AUTH_SCHEMES",
    "ERRORS",
    "ERROR_FIELDS",
    "AuthScheme",
    "ErrorField",
    "ErrorKind",
    "error_schema",
    "http_error_type",
    "readme_errors_table",
    "typescript_contract",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ErrorField:
    """A member an error's JSON object may carry beyond ``type`` and ``message``: its
    ``name``, its value's JSON ``schema`` (2020-12, as OpenAPI 3.1 reads it) and what it
    says (``description``, plain text)."""

    name: str
    schema: dict[str, Any]
    description: str


PARAMETER_PROBLEM: dict[str, Any] = {
    "title": "ParameterProblem",
    "type": "object",
    "required": ["name", "problem"],
    "properties": {
        "name": {"type": "string", "description": "The parameter (as it was given)."},
        "problem": {"type": "string", "description": "What is wrong with it."},
    },
    "additionalProperties": False,
}
"""One entry of an ``invalid_parameters`` error's ``details``."""

_INTEGER_OR_NULL = {"type": ["integer", "null"]}

ERROR_FIELDS: dict[str, ErrorField] = {
    field.name: field
    for field in (
        ErrorField(
            "cells",
            {"type": "array", "items": {"type": "integer"}},
            "The indices (in the notebook's cells) of the cells at fault.",
        ),
        ErrorField(
            "line",
            _INTEGER_OR_NULL,
            "The line of the parameters cell at fault (1-based), or null when no line is"
            " to blame; absent when the fault is not in the parameters cell.",
        ),
        ErrorField(
            "details",
            {"type": "array", "items": PARAMETER_PROBLEM},
            "One entry per problem: the parameter and what is wrong with it.",
        ),
        ErrorField(
            "retry_after",
            {"type": "integer"},
            "Seconds to wait before trying again (also the Retry-After header).",
        ),
        ErrorField(
            "cell_index",
            _INTEGER_OR_NULL,
            "The index of the cell that raised, or null when it was none of the notebook's cells.",
        ),
        ErrorField(
            "cell_id", {"type": ["string", "null"]}, "The id of the cell that raised, if any."
        ),
        ErrorField("ename", {"type": "string"}, "The exception's class name."),
        ErrorField("evalue", {"type": "string"}, "The exception's message."),
        ErrorField(
            "traceback",
            {"type": "array", "items": {"type": "string"}},
            "The traceback as plain text lines (no terminal colours).",
        ),
        ErrorField("stdout", {"type": "string"}, "What the call printed before it failed."),
        ErrorField("stderr", {"type": "string"}, "What the call wrote to stderr."),
        ErrorField("limit", {"type": "integer"}, "The limit that was passed, in bytes."),
        ErrorField(
            "size",
            _INTEGER_OR_NULL,
            "The bytes counted when encoding stopped past the limit (a lower bound), if known.",
        ),
        ErrorField("time_limit", {"type": "number"}, "The time limit that was passed, in seconds."),
    )
}
"""Every member an error's JSON object may carry beyond ``type`` and ``message``, by name;
an error names the ones it carries (:attr:`ErrorKind.fields`)."""


@dataclass(frozen=True)
class ErrorKind:
    """One error of the contract: its ``type``, HTTP ``status``, ``when`` it happens (markdown,
    for the README), the ``fields`` its JSON object may carry beyond ``type`` and ``message``
    (names in :data:`ERROR_FIELDS`), and ``scope``: ``call`` (the endpoint and every route),
    or ``runs`` (the runs routes)."""

    type: str
    status: int
    when: str
    fields: tuple[str, ...] = ()
    scope: str = "call"

    def __post_init__(self) -> None:
        unknown = [name for name in self.fields if name not in ERROR_FIELDS]
        if unknown:
            raise ValueError(f"{self.type}: fields not in ERROR_FIELDS: {unknown}")

    @property
    def retry_after(self) -> bool:
        """Whether the response carries ``Retry-After``."""
        return "retry_after" in self.fields


def _of(
    cls: type[errors.RestifiedError], when: str, *fields: str, scope: str = "call"
) -> ErrorKind:
    """The entry of an error class: its type and status as the class states them."""
    return ErrorKind(cls.type, cls.status, when, fields, scope)


ERRORS: tuple[ErrorKind, ...] = (
    _of(errors.InvalidRequest, "the body is not JSON, or not an object"),
    ErrorKind(
        "forbidden",
        403,
        "no or insufficient credentials, or a key that does not open this endpoint (nothing runs)",
    ),
    _of(
        errors.NotFound, "no such notebook under the server's root (directories, other files, `..`)"
    ),
    ErrorKind(
        "method_not_allowed",
        405,
        "the route does not answer this HTTP method; `Allow` lists those it answers",
    ),
    _of(errors.NotAcceptable, "`Accept` allows none of the result's types"),
    _of(
        errors.InvalidNotebook,
        "tags make no function (two `return` or `parameters` cells, a parameters cell that is"
        " not plain literal assignments): the cells at fault, and the parameters cell's line",
        "cells",
        "line",
    ),
    _of(errors.TooLarge, "the body is larger than `max_body_size`"),
    _of(
        errors.InvalidParameters,
        "unknown names, a name given twice, values that do not coerce, have the wrong type,"
        " are not one of the choices or are out of bounds: one `{name, problem}` per problem"
        " (the first 50, the message counting the rest)",
        "details",
    ),
    _of(
        errors.RateLimited,
        "an endpoint key made more than `key_rate_limit` calls and runs requests this"
        " minute, or has `key_max_concurrent` calls in flight; `Retry-After` says when",
        "retry_after",
    ),
    _of(
        errors.ExecutionError,
        "a cell raised: which, what (the traceback as plain text lines) and what the call"
        " printed; a key holder gets `cell_index`, `ename` and `evalue` only, unless"
        " `key_tracebacks` allows",
        "cell_index",
        "cell_id",
        "ename",
        "evalue",
        "traceback",
        "stdout",
        "stderr",
    ),
    ErrorKind("internal", 500, "a fault of the server itself (it is logged)"),
    _of(
        errors.RestifiedError,
        "a failure with no type of its own: the call's machinery failing (the engine closed,"
        " a kernel that cannot report its result), or a client error the web framework"
        " answers with a status of its own (then that status)",
    ),
    _of(
        errors.KernelDied, "the process running the call died (`os._exit`, a crash, out of memory)"
    ),
    _of(
        errors.ResultTooLarge,
        "the call's result, encoded as JSON, PNG or CSV, is larger than `max_result_size`;"
        " nothing of it is sent",
        "limit",
        "size",
    ),
    _of(errors.Busy, "the queue is full; `Retry-After` says when to retry", "retry_after"),
    _of(
        errors.KeysUnavailable,
        "the keys file cannot be read, so an endpoint key can be neither checked nor changed",
    ),
    _of(
        errors.CallTimeout,
        "the call ran past the time limit; it was stopped",
        "time_limit",
    ),
    _of(
        errors.NotFinished,
        "the run's result or notebook was asked for while it is queued or running",
        scope="runs",
    ),
    _of(errors.RunCancelled, "the result of a cancelled run", scope="runs"),
    _of(errors.RunInterrupted, "the server stopped while the run was in flight", scope="runs"),
)
"""Every error of the contract, by status."""


# The statuses the web framework itself answers with (no domain error behind them).
_HTTP_ERRORS = {400: "invalid_request", 403: "forbidden", 404: "not_found"}
_HTTP_ERRORS.update({405: "method_not_allowed", 413: "too_large"})


def http_error_type(status: int) -> str:
    """The contract type of an HTTP error the framework raises with ``status`` alone (no
    domain error): ``forbidden`` for 403, ``method_not_allowed`` for 405...; ``error`` for
    another client error and ``internal`` for a server fault."""
    return _HTTP_ERRORS.get(status, "error" if status < 500 else "internal")


@dataclass(frozen=True)
class AuthScheme:
    """One way to authenticate: its OpenAPI security scheme, and where it is accepted."""

    name: str
    scheme: dict[str, Any]
    methods: tuple[str, ...]
    """The HTTP methods of a call it is accepted with."""
    runs: tuple[str, ...]
    """The HTTP methods of the runs routes it is accepted with."""


AUTH_SCHEMES: tuple[AuthScheme, ...] = (
    AuthScheme(
        "token",
        {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "The server's token: `Authorization: token <token>`. A logged-in"
            " browser's session cookie works too (with `_xsrf` on a POST).",
        },
        ("GET", "POST"),
        runs=("GET", "DELETE"),
    ),
    AuthScheme(
        "tokenQuery",
        {
            "type": "apiKey",
            "in": "query",
            "name": "token",
            "description": "The server's token in the query: `?token=<token>`.",
        },
        ("GET", "POST"),
        runs=("GET", "DELETE"),
    ),
    AuthScheme(
        "endpointKey",
        {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "nrk_<id>_<secret>",
            "description": "An endpoint key (made in the panel or with the keys API):"
            " `Authorization: Bearer nrk_...`. It opens this notebook's endpoint and its own"
            " runs, nothing else; it never reaches the server's identity provider.",
        },
        ("GET", "POST"),
        runs=("GET", "DELETE"),
    ),
    AuthScheme(
        "endpointKeyQuery",
        {
            "type": "apiKey",
            "in": "query",
            "name": "key",
            "description": "An endpoint key in the query of a GET: `?key=nrk_...` (refused on"
            " a POST or a DELETE; prefer the header: a query is seen by every proxy on the"
            " way).",
        },
        ("GET",),
        runs=("GET",),
    ),
)
"""Every way to authenticate a call."""


# --------------------------------------------------------------------------------------------
# OpenAPI


def _carried_by(name: str) -> list[str]:
    """The error types whose JSON object carries the field ``name``."""
    return sorted(k.type for k in ERRORS if name in k.fields)


def error_schema() -> dict[str, Any]:
    """The OpenAPI ``components.schemas.Error``: the body of every error,
    ``{"error": {"type", "message", ...}}``, with each field of the table and no other."""
    properties: dict[str, Any] = {
        "type": {
            "type": "string",
            "enum": sorted({k.type for k in ERRORS}),
            "description": "The error's type (the README's errors table).",
        },
        "message": {"type": "string", "description": "What went wrong, in words."},
    }
    for field in ERROR_FIELDS.values():
        carried = ", ".join(_carried_by(field.name))
        properties[field.name] = {
            **field.schema,
            "description": f"{field.description} ({carried})",
        }
    return {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["type", "message"],
                "properties": properties,
                "additionalProperties": False,
            }
        },
        "additionalProperties": False,
    }


def security_schemes() -> dict[str, Any]:
    """The OpenAPI ``components.securitySchemes``."""
    return {scheme.name: dict(scheme.scheme) for scheme in AUTH_SCHEMES}


def security(method: str = "GET", *, runs: bool = False) -> list[dict[str, list[str]]]:
    """The OpenAPI ``security`` of a call with ``method`` (``runs``: of a runs route)."""
    return [{s.name: []} for s in AUTH_SCHEMES if method.upper() in (s.runs if runs else s.methods)]


# --------------------------------------------------------------------------------------------
# README


README_START = "<!-- errors table: made by `python -m notebook_restified.contract --write` -->"
README_END = "<!-- end of errors table -->"


def _table(rows: list[list[str]]) -> str:
    """A markdown table laid out as prettier lays it out."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    lines.insert(1, "| " + " | ".join("-" * w for w in widths) + " |")
    return "\n".join(lines)


def _row(kind: ErrorKind) -> list[str]:
    return [
        str(kind.status),
        f"`{kind.type}`",
        kind.when,
        ", ".join(f"`{name}`" for name in kind.fields),
    ]


def readme_errors_table() -> str:
    """The README's errors table, markers included."""
    head = ["status", "type", "when", "fields"]
    rows = [head, *(_row(k) for k in ERRORS if k.scope == "call")]
    runs = [head, *(_row(k) for k in ERRORS if k.scope == "runs")]
    return (
        f"{README_START}\n\n{_table(rows)}\n\nThe runs routes (below) add:\n\n"
        f"{_table(runs)}\n\n{README_END}"
    )


def readme_with_table(readme: str) -> str:
    """``readme`` with its errors table (between the markers) made anew."""
    pattern = re.compile(re.escape(README_START) + ".*?" + re.escape(README_END), re.DOTALL)
    if not pattern.search(readme):
        raise ValueError("the README has no errors table markers")
    return pattern.sub(lambda _: readme_errors_table(), readme)


# --------------------------------------------------------------------------------------------
# TypeScript


TYPESCRIPT_PATH = Path("src") / "api" / "contract.ts"


def _ts_string(text: str) -> str:
    """A TypeScript string literal, quoted as prettier quotes it."""
    text = text.replace("\\", "\\\\")
    if "'" in text and '"' not in text:
        return f'"{text}"'
    return "'" + text.replace("'", "\\'") + "'"


def _ts_union(name: str, members: list[str]) -> list[str]:
    """``export type name = 'a' | 'b';`` laid out as prettier lays it out (80 columns)."""
    joined = " | ".join(_ts_string(m) for m in members)
    if len(f"export type {name} = {joined};") <= 80:
        return [f"export type {name} = {joined};"]
    if len(f"  {joined};") <= 80:
        return [f"export type {name} =", f"  {joined};"]
    lines = [f"export type {name} ="]
    lines += [f"  | {_ts_string(m)}" for m in members]
    lines[-1] += ";"
    return lines


def _ts_doc(text: str, indent: str = "") -> list[str]:
    """A JSDoc comment of ``text``: on one line if it fits in 80 columns, else wrapped."""
    one = f"{indent}/** {text} */"
    if len(one) <= 80:
        return [one]
    width = 80 - len(f"{indent} * ")
    wrapped = textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)
    return [f"{indent}/**", *(f"{indent} * {line}" for line in wrapped), f"{indent} */"]


_TS_SCALARS = {
    "integer": "number",
    "number": "number",
    "string": "string",
    "boolean": "boolean",
    "null": "null",
}


def _ts_type(schema: dict[str, Any]) -> str:
    """The TypeScript type of a field's JSON Schema (as the table writes them: scalars, their
    unions with null, arrays, and titled objects, which are interfaces of their own)."""
    if "title" in schema:
        return f"I{schema['title']}"
    kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    if kinds == ["array"]:
        item = _ts_type(schema["items"])
        return f"({item})[]" if " " in item else f"{item}[]"
    return " | ".join(_TS_SCALARS[kind] for kind in kinds)


def _ts_interface(name: str, doc: str, members: list[tuple[str, str, bool, str]]) -> list[str]:
    """``export interface name {...}`` of ``(member, type, optional, doc)``."""
    lines = [*_ts_doc(doc), f"export interface {name} {{"]
    for member, type_, optional, member_doc in members:
        lines += _ts_doc(member_doc, "  ")
        lines.append(f"  {member}{'?' if optional else ''}: {type_};")
    return [*lines, "}"]


def _ts_object(schema: dict[str, Any], doc: str) -> list[str]:
    """The interface of a titled object schema."""
    required = set(schema.get("required", ()))
    members = [
        (name, _ts_type(field), name not in required, field.get("description", ""))
        for name, field in schema["properties"].items()
    ]
    return _ts_interface(f"I{schema['title']}", doc, members)


def _ts_error_body() -> list[str]:
    """The error body's interfaces: ``IParameterProblem``, ``IErrorObject`` (every field of
    :data:`ERROR_FIELDS`, optional, with the types that carry it) and ``IErrorBody``."""
    members = [
        ("type", "ErrorType", False, "The error's type (see `ERROR_KINDS`)."),
        ("message", "string", False, "What went wrong, in words."),
    ]
    for field in ERROR_FIELDS.values():
        carried = ", ".join(f"`{t}`" for t in _carried_by(field.name))
        members.append(
            (field.name, _ts_type(field.schema), True, f"{field.description} ({carried})")
        )
    return [
        *_ts_object(PARAMETER_PROBLEM, "One entry of an `invalid_parameters` error's `details`."),
        "",
        *_ts_interface(
            "IErrorObject",
            "The `error` object of every error body: its `type` and `message`, and the"
            " fields of the errors that carry them (`ERROR_KINDS[type].fields`).",
            members,
        ),
        "",
        *_ts_doc('The body of every error: `{"error": {type, message, ...}}`.'),
        "export interface IErrorBody {",
        "  error: IErrorObject;",
        "}",
    ]


def typescript_contract() -> str:
    """The text of ``src/api/contract.ts``: the error types, their statuses and fields, the
    error body, and the auth schemes, as the frontend uses them."""
    kinds = sorted({k.type for k in ERRORS})
    lines = [
        "/**",
        " * The contract's error types, error body and auth schemes, made from",
        " * notebook_restified/contract.py by `python -m notebook_restified.contract",
        " * --write`. Do not edit: a test fails when this file is stale.",
        " */",
        "",
        "/**",
        " * Every error type a caller can get (`error.type` of an error body).",
        " */",
        *_ts_union("ErrorType", kinds),
        "",
        "/**",
        " * One error of the contract: its HTTP status, when it happens, and the",
        " * fields its JSON object carries beyond `type` and `message`.",
        " */",
        "export interface IErrorKind {",
        "  status: number;",
        "  when: string;",
        "  fields: readonly string[];",
        "}",
        "",
        "/**",
        " * Every error of the contract, by type.",
        " */",
        "export const ERROR_KINDS: Readonly<Record<ErrorType, IErrorKind>> = {",
    ]
    for kind in sorted(ERRORS, key=lambda k: k.type):
        fields = [f"    fields: [{', '.join(_ts_string(f) for f in kind.fields)}]"]
        if len(fields[0]) > 80:
            fields = ["    fields: [", *(f"      {_ts_string(f)}," for f in kind.fields), "    ]"]
            fields[-2] = fields[-2].rstrip(",")
        lines += [
            f"  {kind.type}: {{",
            f"    status: {kind.status},",
            f"    when: {_ts_string(_plain(kind.when))},",
            *fields,
            "  },",
        ]
    lines[-1] = "  }"
    lines += [
        "};",
        "",
        *_ts_error_body(),
        "",
        "/**",
        " * The ways to authenticate a call (OpenAPI security schemes).",
        " */",
        *_ts_union("AuthScheme", [s.name for s in AUTH_SCHEMES]),
        "",
        "/**",
        " * The endpoint key's prefix (`Authorization: Bearer nrk_...`).",
        " */",
        f"export const ENDPOINT_KEY_PREFIX = {_ts_string(_key_prefix())};",
        "",
    ]
    return "\n".join(lines)


def _key_prefix() -> str:
    from .keys import PREFIX

    return f"{PREFIX}_"


def _plain(markdown: str) -> str:
    """Markdown of a ``when`` as plain text (backticks dropped)."""
    return markdown.replace("`", "")


# --------------------------------------------------------------------------------------------


def write(root: Path) -> list[Path]:
    """Write the README's table and the TypeScript contract under ``root``; the files that
    changed."""
    changed = []
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    new = readme_with_table(text)
    if new != text:
        readme.write_text(new, encoding="utf-8")
        changed.append(readme)
    typescript = root / TYPESCRIPT_PATH
    contract = typescript_contract()
    if not typescript.exists() or typescript.read_text(encoding="utf-8") != contract:
        typescript.write_text(contract, encoding="utf-8")
        changed.append(typescript)
    return changed


def main(argv: list[str] | None = None) -> int:
    """``python -m notebook_restified.contract [--write] [--root DIR]``: print the contract
    (the OpenAPI error responses' table as JSON), or write the generated files."""
    parser = argparse.ArgumentParser(prog="python -m notebook_restified.contract")
    parser.add_argument("--write", action="store_true", help="write README.md and contract.ts")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the project's root")
    args = parser.parse_args(argv)
    if args.write:
        for path in write(args.root):
            log.warning("wrote %s", path)
        return 0
    table = [{"type": k.type, "status": k.status, "fields": list(k.fields)} for k in ERRORS]
    sys.stdout.write(json.dumps(table, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    logging.basicConfig(format="%(message)s")
    raise SystemExit(main())
