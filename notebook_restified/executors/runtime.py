"""Code that runs where the notebook runs: inside a kernel, or in-process for PythonModel.

Its source is sent into kernels as a standalone module, so it imports only the standard
library at module level and reaches the result encoder through ``sys.modules``. Keep it
compatible with the Pythons kernels may run (3.9+).
"""

from __future__ import annotations

import ast
import asyncio
import collections
import contextlib
import ctypes
import gc
import io
import json
import linecache
import mmap
import os
import random
import re
import select
import shutil
import signal
import socket
import stat
import struct
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

RESULTS_MODULE = "_notebook_restified_results"
RUNTIME_MODULE = "_notebook_restified_runtime"
CELL_FILENAME = "<cell {index}>"
# Captured output returned with a result is cut past this many characters.
OUTPUT_LIMIT = 100_000
_HEADER = struct.Struct("!Q")


def _encoder() -> Callable[[object], dict[str, object]]:
    module: Any = sys.modules.get(RESULTS_MODULE)
    if module is None:
        from notebook_restified import results as module
    return module.encode_result  # type: ignore[no-any-return]


# source -> its transformed Python. The kernel fills it before forking, so a call's child
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


def _cut(text: str) -> str:
    return text if len(text) <= OUTPUT_LIMIT else text[:OUTPUT_LIMIT] + "\n[... cut]"


# Display publishers made ahead: making one (a traitlets object) in a call's child would copy
# a hundred of the kernel's pages. Each is used by one capture only.
_PUBLISHERS: list[Any] = []


def _new_publisher() -> Any:
    from IPython.core.displaypub import CapturingDisplayPublisher

    return CapturingDisplayPublisher()  # type: ignore[no-untyped-call]


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
        summary.append({"text/plain": _cut(str((data or {}).get("text/plain", "")))})
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
            result = _encoder()(value)
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
    reply["stdout"] = _cut(out.getvalue())
    reply["stderr"] = _cut(err.getvalue())
    reply["displays"] = _display_summary(displays)
    reply["duration"] = time.perf_counter() - started
    return reply


def run_request_json(request_json: str, shell: Any = None) -> str:
    """Run a call in the kernel itself (no fork) and answer with the reply as JSON text."""
    namespace = shell.user_ns if shell is not None else globals()
    return json.dumps(run_request(json.loads(request_json), namespace, shell), allow_nan=False)


# --- framing on the fork server's socket ------------------------------------------------


def send_message(sock: socket.socket, message: dict[str, Any]) -> None:
    """Send one length-prefixed JSON message."""
    body = json.dumps(message, allow_nan=False).encode("utf-8")
    sock.sendall(_HEADER.pack(len(body)) + body)


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks, remaining = [], size
    while remaining:
        chunk = sock.recv(min(remaining, 1 << 20))
        if not chunk:
            raise EOFError("connection closed")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def recv_message(sock: socket.socket) -> dict[str, Any]:
    """Receive one length-prefixed JSON message."""
    (size,) = _HEADER.unpack(_recv_exactly(sock, _HEADER.size))
    return json.loads(_recv_exactly(sock, size))  # type: ignore[no-any-return]


# --- copy-ahead: the pages a call writes, copied before it comes -------------------------
#
# A forked child shares its pages with the kernel until it writes one; each first write then
# costs a copy-on-write fault, and a pandas call pays thousands of them (more than doubling
# its time). After a call, a learning child reports which pages of its memory the call wrote
# (those now exclusively its own, from /proc/self/pagemap: the kernel's pages it copied and
# new pages of mappings it had); the next children copy those pages in bulk with
# madvise(MADV_POPULATE_WRITE) in a lowest-priority thread while they wait, so the call finds
# them already private. The CPU is about what the faults would take, but off the call's path.

_PAGE = mmap.PAGESIZE
_MADV_POPULATE_WRITE = 23  # Linux 5.14+
# Fewer faults than this per call (a millisecond or so): copying ahead is not worth it.
COPY_AHEAD_MIN_FAULTS = 256
# The learning children's reports that make the pages copied ahead: the latest ones.
LEARNED_REPORTS = 5
# Byte 7 of a little-endian pagemap entry: bit 63 "present", bit 56 "exclusively mapped".
_OWN = re.compile(b"[" + bytes(range(0x81, 0x100, 2)) + b"]+")  # present, this process's alone
Ranges = list[tuple[int, int]]


def writable_ranges() -> Ranges:
    """The private writable mappings of this process (``[start, end)`` addresses)."""
    ranges = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            if fields[1][1] == "w" and fields[1][3] == "p":
                start, end = fields[0].split("-")
                ranges.append((int(start, 16), int(end, 16)))
    return ranges


class PageScanner:
    """Reads this process's page flags from /proc/self/pagemap.

    Its buffers are made once, up front, so that a scan writes almost no memory of its own
    (it runs after a call, to see what the call wrote).
    """

    CHUNK = 8192  # pages per read

    def __init__(self) -> None:
        self.entries = bytearray(8 * self.CHUNK)
        self.flags = bytearray(self.CHUNK)

    def pages(self, ranges: Ranges) -> Ranges:
        """The pages of ``ranges`` this process holds alone (written since the fork, or
        new)."""
        entries, flags = memoryview(self.entries), memoryview(self.flags)
        found: Ranges = []
        fd = os.open("/proc/self/pagemap", os.O_RDONLY)
        try:
            for start, end in ranges:
                for first in range(start, end, self.CHUNK * _PAGE):
                    count = min(self.CHUNK, (end - first) // _PAGE)
                    got = os.preadv(fd, [entries[: 8 * count]], first // _PAGE * 8) // 8
                    flags[:got] = entries[7 : 8 * got : 8]
                    found.extend(
                        (first + run.start() * _PAGE, first + run.end() * _PAGE)
                        for run in _OWN.finditer(flags[:got])
                    )
        finally:
            os.close(fd)
        return _union(found)


def _union(ranges: Ranges) -> Ranges:
    merged: Ranges = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        elif end > start:
            merged.append((start, end))
    return merged


def subtract_ranges(ranges: Ranges, minus: Ranges) -> Ranges:
    """The parts of sorted disjoint ``ranges`` outside sorted disjoint ``minus``."""
    left: Ranges = []
    index = 0
    for start, end in ranges:
        while index < len(minus) and minus[index][1] <= start:
            index += 1
        cursor, probe = start, index
        while probe < len(minus) and minus[probe][0] < end:
            if minus[probe][0] > cursor:
                left.append((cursor, minus[probe][0]))
            cursor = max(cursor, minus[probe][1])
            probe += 1
        if cursor < end:
            left.append((cursor, end))
    return left


def ranges_size(ranges: Ranges) -> int:
    """Bytes covered by disjoint ``ranges``."""
    return sum(end - start for start, end in ranges)


def learned_ranges(reports: Iterable[Ranges], limit: int) -> Ranges:
    """The union of the pages ``reports`` name (sorted, disjoint), cut to its first
    ``limit`` bytes in address order."""
    union = _union([pages for report in reports for pages in report])
    if ranges_size(union) <= limit:
        return union
    cut: Ranges = []
    room = limit - limit % _PAGE
    for start, end in union:
        if room <= 0:
            break
        end = min(end, start + room)
        cut.append((start, end))
        room -= end - start
    return cut


_LIBC: dict[str, Any] = {}  # looked up once, in the kernel: children inherit them


def _libc(name: str, *argtypes: Any) -> Any:
    """The C library's function ``name`` (returning an int) through ctypes, looked up once;
    None where the C library has no such function."""
    if name not in _LIBC:
        function = None
        with contextlib.suppress(OSError, AttributeError):
            function = getattr(ctypes.CDLL(None, use_errno=True), name)
            function.argtypes = list(argtypes)
            function.restype = ctypes.c_int
        _LIBC[name] = function
    return _LIBC[name]


def _madvise() -> Any:
    return _libc("madvise", ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)


def _prctl() -> Any:  # Linux's
    return _libc("prctl", ctypes.c_int, ctypes.c_ulong)


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Have Linux SIGKILL this process when the thread that forked it ends (with its
    process, or when the fork server stops)."""
    prctl = _prctl()
    if prctl is not None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def copy_pages(ranges: Ranges, stop: threading.Event | None = None) -> int:
    """Break copy-on-write sharing of ``ranges`` now (until ``stop`` is set); returns the
    bytes copied."""
    madvise = _madvise()
    if madvise is None:
        return 0
    copied = 0
    for start, end in ranges:
        if stop is not None and stop.is_set():
            break
        # A range gone since it was learned (freed, remapped) just fails: skip it.
        if madvise(start, end - start, _MADV_POPULATE_WRITE) == 0:
            copied += end - start
    return copied


def copy_ahead_works() -> bool:
    """Whether this system can both see which pages a process wrote (Linux's
    /proc/self/pagemap) and copy pages ahead (MADV_POPULATE_WRITE, Linux 5.14+)."""
    try:
        with open("/proc/self/pagemap", "rb"):
            pass
        probe = mmap.mmap(-1, _PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    except (OSError, AttributeError):
        return False
    try:
        address = ctypes.addressof(ctypes.c_char.from_buffer(probe))
        return copy_pages([(address, address + _PAGE)]) == _PAGE
    finally:
        probe.close()


def _faults(thread: bool = False) -> int:
    """Page faults this process (or only this thread) took so far, that needed no disk."""
    import resource  # Unix only, as fork is

    who = (
        getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF) if thread else resource.RUSAGE_SELF
    )
    return resource.getrusage(who).ru_minflt


class _CopyAhead(threading.Thread):
    """Copies pages ahead at the lowest priority (Linux sets it per thread), so that a
    call on any CPU comes first."""

    def __init__(self, ranges: Ranges) -> None:
        super().__init__(name="restified-copy-ahead", daemon=True)
        self.ranges = ranges
        self.copied = 0
        self.stopped = threading.Event()
        self.start()

    def run(self) -> None:
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        self.copied = copy_pages(self.ranges, self.stopped)

    def stop(self) -> None:
        """Stop at the end of the range being copied: the call has come, and from now on
        takes its own faults (copying on beside it costs more CPU than it saves)."""
        self.stopped.set()

    def bytes_copied(self) -> int:
        """Once stopped, the bytes copied."""
        self.join()
        return self.copied


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def pack_report(faults: int, copied: int, ranges: Ranges) -> bytes:
    """A child's report: the page faults its call took, the bytes it had copied ahead, and
    (if it learns for the others) the kernel's pages its call wrote."""
    flat = [address for pair in ranges for address in pair]
    return b"P" + struct.pack(f"!QQQ{len(flat)}Q", faults, copied, len(flat), *flat)


def unpack_report(data: bytes) -> tuple[int, int, Ranges] | None:
    """``(faults, copied, ranges)`` from :func:`pack_report`; None if cut short."""
    if not data.startswith(b"P") or len(data) < 25:
        return None
    faults, copied, count = struct.unpack_from("!QQQ", data, 1)
    if len(data) != 25 + count * 8 or count % 2:
        return None
    flat = struct.unpack_from(f"!{count}Q", data, 25)
    return faults, copied, [(flat[i], flat[i + 1]) for i in range(0, count, 2)]


# --- the fork server --------------------------------------------------------------------


def _scratch_file(name: str) -> Any:
    """An anonymous file for what a child's code writes to its file descriptors 1 and 2."""
    make = getattr(os, "memfd_create", None)  # Linux: one system call, no file system
    if make is not None:
        with contextlib.suppress(OSError):
            return os.fdopen(make(f"restified-{name}", 0), "w+b")
    return tempfile.TemporaryFile()  # closed when the child exits


class _Capture(io.TextIOBase):
    """A text stream that collects into a list (stands in for the kernel's streams)."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def writable(self) -> bool:
        return True


class ForkServer:
    """Keeps children forked from the warm kernel, each waiting to run exactly one call.

    A client connects to ``path`` (a Unix socket in a private directory); a waiting child
    accepts, says ``{"pid"}``, reads one request, runs it in its copy-on-write copy of the
    kernel's namespace, answers and exits. Nothing a call does reaches the kernel or the
    next call. The kernel's own thread forks the next child as soon as one is taken.
    """

    def __init__(self, shell: Any, prefork: int = 1, copy_limit: int = 64 << 20) -> None:
        self.shell = shell
        self.prefork = max(1, prefork)
        # Copy-ahead: the pages calls wrote, which children copy while they wait; at most
        # copy_limit bytes per child (0: off).
        self.copy_limit = max(0, copy_limit) if copy_limit and copy_ahead_works() else 0
        self.copy_ahead: Ranges = []
        self.call_faults = 0  # the most page faults a call took without copy-ahead
        self.copied_calls = 0  # calls whose child had copied ahead
        self.copied_call_faults: int | None = None  # page faults of the last such call
        self.copied_bytes = 0  # what its child had copied
        self._reports: dict[int, bytearray] = {}  # pid -> what a child sent after "t"
        # What the last learning children reported: pages of the kernel's memory their call
        # wrote (a page the kernel itself wrote meanwhile also shows; a few reports in a
        # window, rather than all of them, keep such pages from piling up).
        self._learned: collections.deque[Ranges] = collections.deque(maxlen=LEARNED_REPORTS)
        self.directory = private_directory("fork")
        self.path = os.path.join(self.directory, "fork.sock")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(128)
        # pid -> read end of the child's pipe ("t" when taken, EOF when it exits)
        self.waiting: dict[int, int] = {}
        self.running: dict[int, int] = {}
        self._exited: set[int] = set()  # to reap
        self.forked = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="restified-fork", daemon=True)

    def start(self) -> str:
        """Start forking; returns the socket path."""
        # What setup made stays out of the kernel's own collections, which would otherwise
        # write to (and so copy) every page the children share.
        gc.freeze()
        _faults()  # imports `resource` here once, not in every child on its call's path
        _prctl()  # and finds prctl once
        self._thread.start()
        return self.path

    def stats(self) -> dict[str, int | None]:
        """Counts for health reports."""
        return {
            "waiting": len(self.waiting),
            "running": len(self.running),
            "forked": self.forked,
            "copy_ahead_bytes": ranges_size(self.copy_ahead) if self._copies_ahead() else 0,
            "call_faults": self.call_faults,
            "copied_calls": self.copied_calls,
            "copied_call_faults": self.copied_call_faults,
            "copied_bytes": self.copied_bytes,
        }

    def _serve(self) -> None:
        # Each child's pipe says "t" when a call takes it, then maybe the pages the call
        # wrote, then EOF when it exits. A taken child is replaced once it has exited, so the
        # fork does not compete with the call for the CPU; only when no child is left waiting
        # is one forked at once.
        while not self._stop.is_set():
            try:
                while len(self.waiting) < self.prefork and (not self.waiting or not self.running):
                    self._spawn()
                fds = {fd: pid for pid, fd in {**self.waiting, **self.running}.items()}
                ready, _, _ = select.select(list(fds), [], [], 1.0)
                for fd in ready:
                    pid = fds[fd]
                    data = os.read(fd, 1 << 16)
                    if data:
                        if pid in self.waiting:
                            self.running[pid] = self.waiting.pop(pid)
                            data = data[1:]
                        self._reports.setdefault(pid, bytearray()).extend(data)
                        continue
                    os.close(fd)  # EOF: the child exited (after its call, or while waiting)
                    self.waiting.pop(pid, None)
                    self.running.pop(pid, None)
                    self._exited.add(pid)
                    self._learn(bytes(self._reports.pop(pid, b"")))
                self._reap()
            except Exception:  # keep serving; a transient fork failure must not end it
                if self._stop.is_set():
                    break  # stop() closed the fds this loop was using: not an error
                traceback.print_exc(file=sys.__stderr__)
                time.sleep(0.5)

    def _learn(self, report: bytes) -> None:
        unpacked = unpack_report(report)
        if unpacked is None:
            return
        faults, copied, written = unpacked
        if copied:
            self.copied_calls += 1
            self.copied_call_faults = faults
            self.copied_bytes = copied
        else:
            self.call_faults = max(self.call_faults, faults)
        if written:
            self._learned.append(written)
            self.copy_ahead = learned_ranges(self._learned, self.copy_limit)

    def _copies_ahead(self) -> bool:
        """Whether waiting children copy pages ahead: only for calls that take enough
        faults to gain (each copied page costs about what its fault would)."""
        return bool(self.copy_ahead) and self.call_faults >= COPY_AHEAD_MIN_FAULTS

    def _reap(self) -> None:
        for pid in list(self._exited):
            with contextlib.suppress(ChildProcessError):
                done, _ = os.waitpid(pid, os.WNOHANG)
                if not done:
                    continue
            self._exited.discard(pid)

    def _spawn(self) -> None:
        read_fd, write_fd = os.pipe()
        random_state = random.getstate()
        # The first children learn which pages a call writes, then one in 64 (it costs a
        # few milliseconds of CPU around the call); they do not copy ahead themselves.
        learn = self.copy_limit > 0 and (self.forked < 5 or self.forked % 64 == 0)
        kernel = os.getpid()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            code = 1
            try:
                os.close(read_fd)
                self._child(write_fd, random_state, learn, kernel)
                code = 0
            finally:
                os._exit(code)
        os.close(write_fd)
        self.waiting[pid] = read_fd
        self._reports[pid] = bytearray()
        self.forked += 1

    def _child(  # pragma: no cover - child
        self, taken_fd: int, random_state: Any, learn: bool, kernel: int
    ) -> None:
        # Everything here happens before a call arrives, off its critical path.
        os.setpgid(0, 0)  # its own group: a time limit kills it and what it started
        # Killed with the kernel (even mid-call, when no time limit is left to stop it);
        # a kernel gone before this line is seen by _accept.
        _die_with_parent()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        gc.freeze()  # a collection would otherwise copy every inherited page
        random.setstate(random_state)  # fork reseeds `random`; keep setup's seed
        # Open for the child's whole (short) life; its exit closes them.
        out_file, err_file = _scratch_file("stdout"), _scratch_file("stderr")
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_file.fileno(), 1)
        os.dup2(err_file.fileno(), 2)
        capture_out, capture_err = _Capture(), _Capture()
        # Objects made in setup (logging handlers) hold the kernel's streams: silence those.
        for stream, target in ((sys.stdout, capture_out), (sys.stderr, capture_err)):
            with contextlib.suppress(AttributeError, TypeError):
                stream.write = target.write  # type: ignore[method-assign]
                stream.flush = lambda: None  # type: ignore[method-assign]
        sys.stdout, sys.stderr = capture_out, capture_err
        self._warm_up()
        # A learning child notes which pages of its writable mappings it holds alone before
        # the call; those it holds alone only afterwards are the ones the call wrote: the
        # kernel's pages it copied, and new pages of mappings that were there already.
        scanner, mapped, own = None, [], []
        if learn:
            try:
                scanner = PageScanner()
                mapped = writable_ranges()
                own = scanner.pages(mapped)
            except (OSError, ValueError):
                scanner = None
        # A thread of the lowest priority copies while this one waits, so a call on any CPU
        # comes first; it stops when this child's call comes.
        copier = None
        if not learn and self._copies_ahead():
            copier = _CopyAhead(self.copy_ahead)

        conn = self._accept(kernel)
        os.write(taken_fd, b"t")  # kept open: its closing at exit tells the kernel
        self.listener.close()
        faults = _faults(thread=copier is not None)
        if copier is not None:
            copier.stop()
        send_message(conn, {"pid": os.getpid()})
        request = recv_message(conn)
        reply = run_request(request, self.shell.user_ns, self.shell)
        fd_output = []
        for handle in (out_file, err_file):
            handle.seek(0)
            fd_output.append(handle.read(OUTPUT_LIMIT).decode("utf-8", "replace"))
        reply["stdout"] = _cut("".join(capture_out.parts) + reply["stdout"] + fd_output[0])
        reply["stderr"] = _cut("".join(capture_err.parts) + reply["stderr"] + fd_output[1])
        send_message(conn, reply)
        faults = _faults(thread=copier is not None) - faults
        conn.close()
        # Done: what is left (the report, the exit's teardown) must not slow the next call.
        with contextlib.suppress(OSError):
            os.nice(19)
        written: Ranges = []
        if scanner is not None:
            with contextlib.suppress(OSError, ValueError):
                written = subtract_ranges(scanner.pages(mapped), own)
        copied = copier.bytes_copied() if copier is not None else 0
        with contextlib.suppress(OSError):
            _write_all(taken_fd, pack_report(faults, copied, written))

    def _warm_up(self) -> None:  # pragma: no cover - child
        """Run the call machinery once on nothing, so the pages it writes are copied now
        rather than during the call (copy-on-write faults are most of a fork's cost)."""
        with contextlib.suppress(Exception):
            cell = {"index": None, "id": None, "source": "None", "return": True, "plain": True}
            reply = run_request({"cells": [cell]}, {"__builtins__": __builtins__}, self.shell)
            json.loads(json.dumps(reply, allow_nan=False))

    def _accept(self, kernel: int) -> socket.socket:  # pragma: no cover - child
        """Wait for a call; give up once the kernel that forked this child is gone (even
        if it went before this child got here)."""
        self.listener.setblocking(False)
        while True:
            ready, _, _ = select.select([self.listener], [], [], 1.0)
            if os.getppid() != kernel:
                os._exit(0)
            if ready:
                try:
                    conn, _ = self.listener.accept()
                except (BlockingIOError, InterruptedError):
                    continue  # another waiting child took it
                conn.setblocking(True)
                return conn

    def stop(self) -> None:
        """Stop forking and end the children still waiting (the kernel is going away)."""
        self._stop.set()
        for pid, fd in list(self.waiting.items()):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            with contextlib.suppress(OSError):
                os.close(fd)
        self.waiting.clear()
        self.listener.close()
        remove_socket(self.path)


# Private temporary directories (Unix sockets: the fork servers' and the local kernels'
# connections) are named for the process that made them, "restified-<kind>-<pid
# namespace>-<pid>-<random>", so that once that process is gone without removing its own
# (killed), :func:`sweep_directories` can.
_SWEEPABLE = re.compile(r"restified-(?:fork|ipc)-(\d+)-(\d+)-[^/]+")


def _pid_namespace() -> int:
    """This process's PID namespace (0 where there is no such thing to read)."""
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return 0


def private_directory(kind: str) -> str:
    """A new temporary directory only this user may enter, named for this process."""
    return tempfile.mkdtemp(prefix=f"restified-{kind}-{_pid_namespace()}-{os.getpid()}-")


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs: any of its threads is not yet a zombie (killed, its
    main thread can show as one while the others still exit; an exited process its parent
    has not reaped does not run)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's: alive
        return True
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return not os.path.isdir("/proc/self/task")  # gone, unless there is no such thing
    for thread in threads:
        try:
            with open(f"/proc/{pid}/task/{thread}/stat", "rb") as status:
                state = status.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue  # gone meanwhile
        if state not in (b"Z", b"X"):
            return True
    return False


def sweep_directories(root: str | None = None) -> list[str]:
    """Remove the private directories (see :func:`private_directory`) of this user's
    processes that are gone; returns their paths. A process of another PID namespace (a
    container sharing the temporary directory) cannot be seen: its directories stay."""
    namespace = _pid_namespace()
    if not namespace:
        return []
    root = root or tempfile.gettempdir()
    removed = []
    with contextlib.suppress(OSError), os.scandir(root) as entries:
        for entry in entries:
            match = _SWEEPABLE.fullmatch(entry.name)
            if match is None or int(match.group(1)) != namespace:
                continue
            with contextlib.suppress(OSError):
                info = entry.stat(follow_symlinks=False)
                if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
                    continue
                if process_alive(int(match.group(2))):
                    continue
                shutil.rmtree(entry.path)
                removed.append(entry.path)
    return removed


def remove_socket(path: str) -> None:
    """Remove a fork server's socket and its private directory, if still there."""
    with contextlib.suppress(OSError):
        os.unlink(path)
    with contextlib.suppress(OSError):
        os.rmdir(os.path.dirname(path))


SERVER: ForkServer | None = None


def start_fork_server(
    shell: Any, prefork: int = 1, copy_limit: int = 64 << 20, sources_json: str = "[]"
) -> str:
    """Start the kernel's fork server once; returns its socket path as JSON text.

    ``sources_json``: the sources of the cells calls run (a JSON list), prepared once here
    rather than in every call's child.
    """
    global SERVER
    prepare_captures(shell, json.loads(sources_json))
    if SERVER is None:
        SERVER = ForkServer(shell, prefork, copy_limit)
        SERVER.start()
    return json.dumps(SERVER.path)


def fork_server_stats() -> str:
    """The fork server's counts as JSON text (``null`` if none runs)."""
    return json.dumps(SERVER.stats() if SERVER is not None else None)


def stop_fork_server() -> str:
    """Stop the fork server if any; returns ``"null"`` (JSON) for the caller."""
    if SERVER is not None:
        SERVER.stop()
    return "null"
