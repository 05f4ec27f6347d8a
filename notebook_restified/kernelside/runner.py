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
import copy
import gc
import hashlib
import io
import json
import linecache
import pickle
import re
import threading
import time
import traceback
import types
from typing import Any

from .encoder import ResultTooLarge, encode_parts, encode_result
from .processes import become_subreaper
from .trace import EVENT_MIME, CallTrace, ErrorTrace, Sink

CELL_FILENAME = "<cell {index}>"
# The most characters of each captured text (stdout, stderr) a reply carries, unless the
# request's limits say otherwise; past it the head and the tail are kept.
OUTPUT_LIMIT = 1024 * 1024

# The kernel runs each call's cells through IPython's transformers once; every call's child
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


#: An exception's message when its own ``__str__`` raises (as ``traceback`` words it).
_NO_MESSAGE = "<exception str() failed>"


def _message(exc: BaseException) -> str:
    """``str(exc)``: the notebook's own code, which may raise in turn."""
    try:
        return str(exc)
    except Exception:
        return _NO_MESSAGE


def _traceback_lines(exc: BaseException, tb: types.TracebackType | None) -> list[str]:
    """The traceback of ``exc`` from ``tb`` as lines; formatting it runs the notebook's code
    too (``__str__``, ``__notes__``): if that fails, only the last line, name and message."""
    try:
        text = "".join(traceback.format_exception(type(exc), exc, tb))
    except Exception:
        text = f"{type(exc).__name__}: {_message(exc)}"
    return text.rstrip("\n").split("\n")


def _error_fields(cell: dict[str, Any], exc: BaseException) -> dict[str, Any]:
    tb = exc.__traceback__
    # Drop the runtime's own frames: the traceback starts at the cell.
    while tb is not None and not tb.tb_frame.f_code.co_filename.startswith("<cell "):
        tb = tb.tb_next
    return {
        "cell_index": cell.get("index"),
        "cell_id": cell.get("id"),
        "ename": type(exc).__name__,
        "evalue": _message(exc),
        "traceback": _traceback_lines(exc, tb),
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
    cells: list[dict[str, Any]],
    namespace: dict[str, Any],
    shell: Any = None,
    trace: CallTrace | ErrorTrace | None = None,
) -> tuple[bool, Any]:
    """Run ``cells`` in ``namespace``; the one marked ``return`` gives the value.

    Each cell is ``{"index", "id", "source", "return": bool}``. Returns ``(has_value,
    value)``; a cell that raises raises ``_CellError`` with the contract's fields. A
    ``trace`` hears each cell start and end.
    """
    flags = getattr(ast, "PyCF_ALLOW_TOP_LEVEL_AWAIT", 0)
    has_value, value = False, None
    for position, cell in enumerate(cells):
        if trace is not None:
            trace.start(position, cell)
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
            if trace is not None:
                trace.finish(position, cell, ok=False)
            raise _CellError(_error_fields(cell, exc)) from None
        if trace is not None:
            trace.finish(position, cell, ok=True)
    return has_value, value


def cut_marker(count: int) -> str:
    """What stands for ``count`` characters cut from the middle of a captured text."""
    return f"\n[... {count} characters cut ...]\n"


def cut(text: str, limit: int = OUTPUT_LIMIT) -> str:
    """``text`` if it has at most ``limit`` characters, else its head and its tail (half the
    limit each) around a marker that says how much was cut."""
    if len(text) <= limit:
        return text
    tail = limit // 2
    head = limit - tail
    return text[:head] + cut_marker(len(text) - limit) + text[len(text) - tail :]


class BoundedText(io.TextIOBase):
    """A text stream that keeps what :func:`cut` would keep of all that is written to it,
    in memory bounded by its ``limit`` (characters), however much is written.

    ``limit`` may be changed before the first write (a call's request gives it).
    """

    def __init__(self, limit: int = OUTPUT_LIMIT) -> None:
        self.limit = limit
        self.written = 0  # characters written (or gone by unseen, see gap)
        self._head: list[str] = []
        self._head_size = 0
        self._head_closed = False
        self._tail: list[str] = []
        self._tail_size = 0

    def write(self, text: str) -> int:
        """Keep the head, then the latest characters; count them all."""
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        count = len(text)
        self.written += count
        keep_tail = self.limit // 2
        room = self.limit - keep_tail - self._head_size
        if room > 0 and not self._head_closed:
            part = text[:room]
            self._head.append(part)
            self._head_size += len(part)
            text = text[len(part) :]
        if text:
            self._tail.append(text)
            self._tail_size += len(text)
            if self._tail_size > 2 * keep_tail + 4096:  # compact now and then: amortized O(1)
                joined = "".join(self._tail)
                kept = joined[len(joined) - keep_tail :]
                self._tail, self._tail_size = [kept], len(kept)
        return count

    def gap(self, count: int) -> None:
        """``count`` characters went by unseen (the middle of a file read head and tail):
        they, and the tail so far, are cut."""
        self.written += count
        self._head_closed = True
        self._tail, self._tail_size = [], 0

    def getvalue(self) -> str:
        """The head, a marker if anything was cut, and the tail."""
        head = "".join(self._head)
        tail = "".join(self._tail)
        keep_tail = self.limit // 2
        if len(tail) > keep_tail:
            tail = tail[len(tail) - keep_tail :]
        dropped = self.written - len(head) - len(tail)
        return head + (cut_marker(dropped) if dropped else "") + tail

    def writable(self) -> bool:
        return True


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
def _captured(
    shell: Any,
    out: io.TextIOBase,
    err: io.TextIOBase,
    trace: CallTrace | ErrorTrace | None = None,
) -> Any:
    """Capture stdout, stderr and display() of the cells (displays also to ``trace``)."""
    displays: list[dict[str, Any]] = []
    saved_pub = None
    if shell is not None and getattr(shell, "display_pub", None) is not None:
        try:
            publisher = _PUBLISHERS.pop() if _PUBLISHERS else _new_publisher()
            saved_pub = shell.display_pub
            shell.display_pub = publisher
            displays = publisher.outputs
            if trace is not None:
                trace.displays = displays
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
def _uncaptured(out: io.TextIOBase, err: io.TextIOBase) -> Any:
    yield out, err, []


_DISPLAYS_KEPT = 20


def _display_summary(displays: list[Any], limit: int) -> list[dict[str, Any]]:
    summary = []
    for item in displays[:_DISPLAYS_KEPT]:
        data = getattr(item, "data", None) or (item.get("data") if isinstance(item, dict) else {})
        # The displays together take at most one text's limit.
        text = cut(str((data or {}).get("text/plain", "")), limit // _DISPLAYS_KEPT)
        summary.append({"text/plain": text})
    return summary


def _bounded_error(fields: dict[str, Any], limit: int) -> dict[str, Any]:
    """An error's message and traceback, cut to half the output limit each."""
    traceback_text = cut("\n".join(fields.get("traceback") or []), limit // 2)
    return {
        **fields,
        "evalue": cut(str(fields.get("evalue", "")), limit // 2),
        "traceback": traceback_text.split("\n"),
    }


def run_request(
    request: dict[str, Any],
    namespace: dict[str, Any],
    shell: Any = None,
    streams: tuple[BoundedText, BoundedText] | None = None,
    emit: Sink | None = None,
) -> dict[str, Any]:
    """Run one call and answer with a JSON-able reply (never raises for cell errors).

    ``request``: ``{"cells": [...]}`` as for :func:`run_cells`, optionally with
    ``"limits": {"result": bytes, "output": characters}``, ``"subreaper": true`` (the
    process is discarded after the call: orphans of what it starts come back to it, so
    that whoever kills its process tree finds them), ``"events": true`` (live events of each
    cell and of output as it is written, sent to ``emit``) and ``"record": true`` (the
    reply's ``"cells"``: each cell's outputs and timing; see ``trace.py``; ``"errors"``:
    only in a reply that is not ``ok``), ``"media"`` (the media type wanted of each kind of
    result: the result is encoded once, in that form) and ``"payload": true`` (the result's
    forms as bytes under :data:`PARTS`). The reply is
    ``{"status": "ok", "has_value", "result", "stdout", "stderr", "displays", "duration"}``,
    ``{"status": "error", "error": {...contract fields...}, "stdout", "stderr"}``, or, for a
    result whose encoding passed the limit, ``{"status": "too_large", "error": {"size",
    "limit"}, ...}``. Each captured text (and the displays together, and an error's message
    and traceback) keeps at most the output limit's characters, head and tail. ``streams``:
    where stdout and stderr go (a forked child's, which also collect its other output).
    """
    started = time.perf_counter()
    reply: dict[str, Any]
    limits = request.get("limits") or {}
    if request.get("subreaper"):
        become_subreaper()
    output_limit = int(limits.get("output", OUTPUT_LIMIT))
    out, err = streams or (BoundedText(), BoundedText())
    out.limit = err.limit = output_limit
    trace = CallTrace.for_request(request, emit)
    # The cells write to the bounded streams, and through the trace when one is asked for.
    cell_out, cell_err = trace.wrap(out, err) if trace is not None else (out, err)
    # Setup runs with the kernel's own streams: objects it makes (logging handlers) keep them.
    capturing = request.get("capture", True)
    capture = (
        _captured(shell, cell_out, cell_err, trace)
        if capturing
        else _uncaptured(cell_out, cell_err)
    )
    with capture as (_, _, displays):
        try:
            has_value, value = run_cells(request["cells"], namespace, shell, trace)
            reply = {"status": "ok", "has_value": has_value}
            reply["result"], parts = _encoded(value, request, limits.get("result"))
            if parts is not None:
                reply[PARTS] = parts
        except _CellError as exc:
            reply = {"status": "error", "error": _bounded_error(exc.fields, output_limit)}
        except ResultTooLarge as exc:
            reply = {"status": "too_large", "error": {"size": exc.size, "limit": exc.limit}}
        except BaseException as exc:  # the encoder failed on an odd value
            if getattr(exc, "restified_passthrough", False):
                raise
            error = {
                "cell_index": None,
                "cell_id": None,
                "ename": type(exc).__name__,
                "evalue": f"the result could not be encoded: {_message(exc)}",
                "traceback": _traceback_lines(exc, exc.__traceback__),
            }
            reply = {"status": "error", "error": _bounded_error(error, output_limit)}
    reply["stdout"] = out.getvalue()
    reply["stderr"] = err.getvalue()
    reply["displays"] = _display_summary(displays, output_limit)
    reply["duration"] = time.perf_counter() - started
    if trace is not None and trace.keeps(reply):
        reply["cells"] = trace.cells
    return reply


#: Where :func:`run_request` leaves a result's encoded forms (bytes) when the request asks
#: for ``"payload"``: taken out of the reply and sent after it (``wire.send_reply``).
PARTS = "_parts"


def _encoded(
    value: Any, request: dict[str, Any], limit: int | None
) -> tuple[dict[str, object], list[tuple[str, bytes]] | None]:
    """The reply's ``result``, encoded in the forms the request wants (``"media"``: one per
    kind of result; else every form), with the bytes of each form apart when the request
    asks for ``"payload"`` (else within ``result``, as JSON data, base64 PNG, CSV text)."""
    media = request.get("media")
    if request.get("payload"):
        return encode_parts(value, limit=limit, media=media)
    return encode_result(value, limit=limit, media=media), None


def _iopub_sink(shell: Any) -> Sink | None:
    """Events published on the kernel's iopub channel as display data of
    :data:`~trace.EVENT_MIME`, under the execute request that runs the call."""
    publisher = getattr(shell, "display_pub", None)
    if publisher is None:
        return None

    def emit(event: dict[str, Any]) -> None:
        publisher.publish({EVENT_MIME: event}, metadata={})

    return emit


def run_request_json(request_json: str, shell: Any = None) -> str:
    """Run a call in the kernel itself (no fork) and answer with the reply as JSON text;
    events, if asked for, go out on the kernel's iopub channel."""
    namespace = shell.user_ns if shell is not None else globals()
    request = json.loads(request_json)
    emit = _iopub_sink(shell) if request.get("events") else None
    return json.dumps(run_request(request, namespace, shell, emit=emit), allow_nan=False)


# Names IPython keeps in a kernel's namespace for its own history (``_``, ``_i3``, ``_3``...).
_HISTORY_NAME = re.compile(r"^(_+|_i+|_i?\d+|_oh|_dh|_ih|In|Out)$")


def _not_setups(name: str, hidden: Any) -> bool:
    """Whether ``name`` is IPython's or Python's own (dunders, ``hidden``, the history), not
    something setup made: a warm-up shares it as it is and no digest counts it."""
    return name.startswith("__") or name in hidden or bool(_HISTORY_NAME.match(name))


def scratch_namespace(namespace: dict[str, Any], hidden: Any = ()) -> dict[str, Any]:
    """A namespace for a warm-up: the same names as ``namespace``, each bound to a deep copy
    of its value where one can be made (aliases among them kept), else to the value itself
    (modules, functions, classes, and objects that cannot be copied). IPython's own names
    (``hidden``, its history) are shared as they are. The warm-up's body runs in it, so
    what it assigns or mutates there never reaches ``namespace``."""
    memo: dict[int, Any] = {}
    memo[id(memo)] = []  # deepcopy's keep-alive list, made first so a rollback keeps it
    scratch: dict[str, Any] = {}
    for name, value in namespace.items():
        if _not_setups(name, hidden):
            scratch[name] = value
            continue
        mark = len(memo)
        try:
            scratch[name] = copy.deepcopy(value, memo)
        except Exception:
            # Undo what the failed copy put in the memo (a half-made copy must not be
            # reused for another name); what it kept alive stays alive.
            for key in list(memo)[mark:]:
                del memo[key]
            scratch[name] = value
    return scratch


# Values a warm-up shares as they are in both ways of running it (neither copied nor
# pickled): a global bound to one of these is compared by identity.
_SHARED_AS_IS = (
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    type,
)


def setup_digest(namespace: dict[str, Any], hidden: Any = ()) -> str | None:
    """A digest of what setup left in ``namespace``: each name with its value's pickled bytes
    (large buffers, as numpy's, hashed in place), or its identity for modules, functions and
    classes. ``None`` when a value cannot be pickled: then nothing tells whether a warm-up
    changed it. What pickling leaves out (the caches a library keeps on an object, such as a
    DataFrame's) does not count: a warm-up that only fills those leaves the digest as it was."""
    digest = hashlib.blake2b(digest_size=32)

    def take(buffer: pickle.PickleBuffer) -> None:
        try:
            with buffer.raw() as view:
                digest.update(view)
        except BufferError:  # not contiguous
            digest.update(bytes(buffer))

    for name in sorted(namespace):
        if _not_setups(name, hidden):
            continue
        value = namespace[name]
        digest.update(name.encode("utf-8", "surrogatepass") + b"\0")
        if isinstance(value, _SHARED_AS_IS):
            digest.update(f"{type(value).__qualname__}@{id(value)}".encode())
            continue
        try:
            digest.update(pickle.dumps(value, protocol=5, buffer_callback=take))
        except Exception:
            return None
        digest.update(b"\1")
    return digest.hexdigest()


def setup_digest_json(shell: Any = None) -> str:
    """:func:`setup_digest` of the kernel's own namespace, as JSON text."""
    namespace = shell.user_ns if shell is not None else globals()
    hidden = getattr(shell, "user_ns_hidden", ()) if shell is not None else ()
    return json.dumps(setup_digest(namespace, hidden))


def warm_up(
    request: dict[str, Any], namespace: dict[str, Any], shell: Any = None
) -> dict[str, Any]:
    """Run one warm-up: a call's cells (``request``, as for :func:`run_request`) in a
    scratch namespace, discarded after. With ``request["on"] == "setup"`` the scratch
    namespace binds the same names to setup's own objects (so what libraries keep on them,
    a DataFrame's indexes and caches, is built on the objects every call starts from; the
    engine checks with :func:`setup_digest` that the warm-up changed none of them);
    otherwise it is a :func:`scratch_namespace` of deep copies. Either way ``namespace``
    keeps its names, and what the libraries the body uses keep at module level (caches,
    lazy imports, specialized bytecode) stays. Returns the runner's reply (its result,
    output and displays dropped: only whether it worked matters)."""
    hidden = getattr(shell, "user_ns_hidden", ()) if shell is not None else ()
    if request.get("on") == "setup":
        scratch = dict(namespace)
    else:
        scratch = scratch_namespace(namespace, hidden)
    try:
        reply = run_request(request, scratch, shell)
    finally:
        scratch.clear()
        del scratch
        gc.collect()  # the body's cycles (functions it defined hold the scratch namespace)
    kept = {"status": reply.get("status"), "duration": reply.get("duration")}
    if reply.get("status") != "ok":
        kept["error"] = reply.get("error")
        kept["stdout"] = reply.get("stdout", "")
        kept["stderr"] = reply.get("stderr", "")
    return kept


def warm_up_json(request_json: str, shell: Any = None) -> str:
    """:func:`warm_up` in the kernel's own namespace; the reply as JSON text."""
    namespace = shell.user_ns if shell is not None else globals()
    return json.dumps(warm_up(json.loads(request_json), namespace, shell), allow_nan=False)
