"""Runs a call's cells in a namespace and answers with a JSON-able reply.

The same code serves every way a notebook runs: in a forked child of the warm kernel, in
the kernel itself (kernel isolation, setup), and in-process for ``PythonModel``. A cell
that raises becomes the contract's error fields; stdout, stderr and ``display()`` are
captured and returned with the result, which the encoder turns into JSON, PNG or CSV.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import io
import json
import linecache
import threading
import time
import traceback
from typing import Any

from .encoder import encode_result

CELL_FILENAME = "<cell {index}>"
# Captured output returned with a result is cut past this many characters.
OUTPUT_LIMIT = 100_000

# finds its cells here rather than running IPython's transformers (which touch, and so copy,
# hundreds of the kernel's pages).
_TRANSFORMED: dict[str, str] = {}
_TRANSFORMED_MAX = 512


def _transform(source: str, shell: Any) -> str:
    """IPython syntax (magics, ``!cmd``) to plain Python, as the kernel would run it."""
    known = _TRANSFORMED.get(source)
    if known is not None:
        return known
    if shell is not None:
        python = str(shell.transform_cell(source))
    else:
        try:
            from IPython.core.inputtransformer2 import TransformerManager
        except ImportError:
            return source
        python = str(TransformerManager().transform_cell(source))  # type: ignore[no-untyped-call]
    if len(_TRANSFORMED) >= _TRANSFORMED_MAX:
        _TRANSFORMED.clear()
    _TRANSFORMED[source] = python
    return python


class _CellError(Exception):
    """A cell raised: carries the contract's error fields."""

    def __init__(self, fields: dict[str, Any]) -> None:
        super().__init__(fields.get("evalue", ""))
        self.fields = fields


def _error_fields(cell: dict[str, Any], exc: BaseException) -> dict[str, Any]:
    tb = exc.__traceback__
    # Drop the runtime's own frames: the traceback starts at the cell.
    while tb is not None and not tb.tb_frame.f_code.co_filename.startswith("<cell "):
        tb = tb.tb_next
    lines = "".join(traceback.format_exception(type(exc), exc, tb)).rstrip("\n")
    return {
        "cell_index": cell.get("index"),
        "cell_id": cell.get("id"),
        "ename": type(exc).__name__,
        "evalue": str(exc),
        "traceback": lines.split("\n"),
    }


def _await(awaitable: Any) -> Any:
    """Run a cell's top-level ``await`` on a private loop (in a thread if one is running)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.new_event_loop().run_until_complete(awaitable)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.new_event_loop().run_until_complete(awaitable)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="restified-await")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


def _run_code(code: Any, namespace: dict[str, Any]) -> Any:
    value = eval(code, namespace)  # noqa: S307 - this is the notebook's own code
    if code.co_flags & 0x80:  # CO_COROUTINE: the cell used top-level await
        value = _await(value)
    return value


def run_cells(
    cells: list[dict[str, Any]], namespace: dict[str, Any], shell: Any = None
) -> tuple[bool, Any]:
    """Run ``cells`` in ``namespace``; the one marked ``return`` gives the value.

    Each cell is ``{"index", "id", "source", "return": bool}``. Returns ``(has_value,
    value)``; a cell that raises raises ``_CellError`` with the contract's fields.
    """
    flags = getattr(ast, "PyCF_ALLOW_TOP_LEVEL_AWAIT", 0)
    has_value, value = False, None
    for cell in cells:
        filename = CELL_FILENAME.format(index=cell.get("index"))
        try:
            # Cells this project wrote (the injected parameters) are plain Python already.
            source = cell["source"] if cell.get("plain") else _transform(cell["source"], shell)
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
            tree = ast.parse(source, filename)
            last = None
            if cell.get("return") and tree.body and isinstance(tree.body[-1], ast.Expr):
                last = ast.Expression(tree.body[-1].value)
                tree.body.pop()
            _run_code(compile(tree, filename, "exec", flags=flags, dont_inherit=True), namespace)
            if last is not None:
                expr = compile(last, filename, "eval", flags=flags, dont_inherit=True)
                has_value, value = True, _run_code(expr, namespace)
        except BaseException as exc:
            if getattr(exc, "restified_passthrough", False):
                raise  # the caller's own signal (a time limit), not the cell's error
            raise _CellError(_error_fields(cell, exc)) from None
    return has_value, value


def cut(text: str) -> str:
    """``text``, cut to :data:`OUTPUT_LIMIT` characters with a marker."""
    return text if len(text) <= OUTPUT_LIMIT else text[:OUTPUT_LIMIT] + "\n[... cut]"


# Display publishers made ahead: making one (a traitlets object) in a call's child would copy
# a hundred of the kernel's pages. Each is used by one capture only.
_PUBLISHERS: list[Any] = []


def _new_publisher() -> Any:
    from IPython.core.displaypub import CapturingDisplayPublisher

    class Publisher(CapturingDisplayPublisher):
        """Captures display() like IPython's, and takes what ipykernel's publisher is told:
        an ipywidgets ``Output`` calls the shell's ``set_parent``, which passes the parent
        message on to the display publisher."""

        parent_header: dict[str, Any] = {}  # replaced by set_parent, never mutated

        def set_parent(self, parent: dict[str, Any]) -> None:
            self.parent_header = dict(parent.get("header", parent)) if parent else {}

        def set_thread_parent(self, parent: dict[str, Any]) -> None:
            self.set_parent(parent)

        def reset_thread_parent(self, token: Any) -> None:
            pass

        def register_hook(self, hook: Any) -> None:
            pass  # nothing is sent on to hook: displays are kept, not published

        def unregister_hook(self, hook: Any) -> bool:
            return True

    return Publisher()  # type: ignore[no-untyped-call]


def prepare_captures(shell: Any, sources: list[str]) -> None:
    """Do now, in the kernel, what every call's child would otherwise repeat: transform the
    call's cells and make a display publisher."""
    for source in sources:
        _transform(source, shell)
    if shell is not None and not _PUBLISHERS:
        with contextlib.suppress(ImportError):
            _PUBLISHERS.append(_new_publisher())


@contextlib.contextmanager
def _captured(shell: Any) -> Any:
    """Capture stdout, stderr and display() of the cells."""
    out, err = io.StringIO(), io.StringIO()
    displays: list[dict[str, Any]] = []
    saved_pub = None
    if shell is not None and getattr(shell, "display_pub", None) is not None:
        try:
            publisher = _PUBLISHERS.pop() if _PUBLISHERS else _new_publisher()
            saved_pub = shell.display_pub
            shell.display_pub = publisher
            displays = publisher.outputs
        except ImportError:
            saved_pub = None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            yield out, err, displays
    finally:
        if saved_pub is not None:
            if not displays:  # it published nothing: as good as new
                _PUBLISHERS.append(shell.display_pub)
            shell.display_pub = saved_pub


@contextlib.contextmanager
def _uncaptured() -> Any:
    yield io.StringIO(), io.StringIO(), []


def _display_summary(displays: list[Any]) -> list[dict[str, Any]]:
    summary = []
    for item in displays[:20]:
        data = getattr(item, "data", None) or (item.get("data") if isinstance(item, dict) else {})
        summary.append({"text/plain": cut(str((data or {}).get("text/plain", "")))})
    return summary


def run_request(
    request: dict[str, Any], namespace: dict[str, Any], shell: Any = None
) -> dict[str, Any]:
    """Run one call and answer with a JSON-able reply (never raises for cell errors).

    ``request``: ``{"cells": [...]}`` as for :func:`run_cells`. The reply is
    ``{"status": "ok", "has_value", "result", "stdout", "stderr", "displays", "duration"}``
    or ``{"status": "error", "error": {...contract fields...}, "stdout", "stderr"}``.
    """
    started = time.perf_counter()
    reply: dict[str, Any]
    # Setup runs with the kernel's own streams: objects it makes (logging handlers) keep them.
    capture = _captured(shell) if request.get("capture", True) else _uncaptured()
    with capture as (out, err, displays):
        try:
            has_value, value = run_cells(request["cells"], namespace, shell)
            result = encode_result(value)
            reply = {"status": "ok", "has_value": has_value, "result": result}
        except _CellError as exc:
            reply = {"status": "error", "error": exc.fields}
        except BaseException as exc:  # the encoder failed on an odd value
            if getattr(exc, "restified_passthrough", False):
                raise
            reply = {
                "status": "error",
                "error": {
                    "cell_index": None,
                    "cell_id": None,
                    "ename": type(exc).__name__,
                    "evalue": f"the result could not be encoded: {exc}",
                    "traceback": traceback.format_exc().rstrip("\n").split("\n"),
                },
            }
    reply["stdout"] = cut(out.getvalue())
    reply["stderr"] = cut(err.getvalue())
    reply["displays"] = _display_summary(displays)
    reply["duration"] = time.perf_counter() - started
    return reply


def run_request_json(request_json: str, shell: Any = None) -> str:
    """Run a call in the kernel itself (no fork) and answer with the reply as JSON text."""
    namespace = shell.user_ns if shell is not None else globals()
    return json.dumps(run_request(json.loads(request_json), namespace, shell), allow_nan=False)
