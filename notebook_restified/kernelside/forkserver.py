"""The fork server: children forked from the warm kernel ahead of time, one per call.

The kernel runs setup once, then starts this server (:func:`start_fork_server`); each call
connects to its Unix socket and is taken by a child that is already waiting, which runs the
call's cells in its copy-on-write copy of the kernel's namespace, answers and exits.
Nothing a call does reaches the kernel or the next call.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import json
import os
import random
import select
import signal
import socket
import sys
import threading
import time
import traceback
from typing import Any

from .copyahead import (
    COPY_AHEAD_MIN_FAULTS,
    LEARNED_REPORTS,
    CopyAhead,
    PageScanner,
    Ranges,
    copy_ahead_works,
    learned_ranges,
    pack_report,
    ranges_size,
    subtract_ranges,
    unpack_report,
    writable_ranges,
)
from .processes import (
    ScratchBound,
    become_subreaper,
    die_with_parent,
    end_descendants,
    page_faults,
    prctl,
    private_directory,
    read_head_tail,
    remove_socket,
    scratch_file,
    trim_scratch,
    write_all,
)
from .runner import OUTPUT_LIMIT, PARTS, BoundedText, prepare_captures, run_request
from .wire import recv_message, send_message, send_reply

# How often the kernel frees the middle of running children's scratch files (seconds).
TRIM_INTERVAL = 0.02

# Whether the kernel's code set `random`'s state (`random.seed`, `random.setstate`) since
# :func:`watch_random_seeding`: then every call starts from the state setup left, else each
# child keeps the fresh seed Python gives it at the fork.
_RANDOM_SET = [False]


def watch_random_seeding() -> None:
    """Note from now on whether the kernel's code seeds ``random`` (before setup runs).

    A fork reseeds ``random`` in the child. A setup that seeded it asked for a known
    sequence, which each call gets again (the state setup left is restored in the child); a
    setup that only drew from it did not, and each call keeps its fresh seed."""
    if getattr(random.seed, "_restified_watch", False):
        return

    def watched(setter: Any) -> Any:
        def set_state(*args: Any, **kwargs: Any) -> Any:
            _RANDOM_SET[0] = True
            return setter(*args, **kwargs)

        set_state.__name__, set_state.__doc__ = setter.__name__, setter.__doc__
        set_state.__wrapped__ = setter  # type: ignore[attr-defined]
        set_state._restified_watch = True  # type: ignore[attr-defined]
        return set_state

    random.seed = watched(random.seed)
    random.setstate = watched(random.setstate)


class ForkServer:
    """Keeps children forked from the warm kernel, each waiting to run exactly one call.

    A client connects to ``path`` (a Unix socket in a private directory); a waiting child
    accepts, says ``{"pid"}``, reads one request, runs it in its copy-on-write copy of the
    kernel's namespace, answers and exits. Nothing a call does reaches the kernel or the
    next call. The kernel's own thread forks the next child as soon as one is taken.
    """

    def __init__(
        self,
        shell: Any,
        prefork: int = 1,
        copy_limit: int = 64 << 20,
        output_limit: int = OUTPUT_LIMIT,
    ) -> None:
        self.shell = shell
        self.prefork = max(1, prefork)
        # Each child's scratch files (what its fds 1 and 2 write to), made here before the
        # fork and kept open here, so that this thread, not one more thread in every child,
        # keeps them within their bounds while the child's call runs: the first and last
        # ``keep`` bytes of each (what the child reads of them with an output limit of
        # output_limit, the engine's).
        self.output_limit = output_limit
        self.scratch: dict[int, tuple[Any, Any]] = {}  # pid -> (stdout file, stderr file)
        self._freed: dict[int, int] = {}  # fd -> where its freed part ends so far
        self._trimmed = 0.0
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
        page_faults()  # imports `resource` here once, not in every child on its call's path
        prctl()  # and finds prctl once
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
                wait = TRIM_INTERVAL if self.running else 1.0
                ready, _, _ = select.select(list(fds), [], [], wait)
                if self.running:
                    self._trim()
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
                    self._close_scratch(pid)
                    self._exited.add(pid)
                    self._learn(bytes(self._reports.pop(pid, b"")))
                self._reap()
            except Exception:  # keep serving; a transient fork failure must not end it
                if self._stop.is_set():
                    break  # stop() closed the fds this loop was using: not an error
                traceback.print_exc(file=sys.__stderr__)
                time.sleep(0.5)

    def _trim(self) -> None:
        """Keep the running children's scratch files within their bounds (at most every
        ``TRIM_INTERVAL`` seconds)."""
        now = time.monotonic()
        if now - self._trimmed < TRIM_INTERVAL:
            return
        self._trimmed = now
        keep = self.output_limit // 2
        for pid in list(self.running):
            files = self.scratch.get(pid)
            if files is not None:
                trim_scratch([f.fileno() for f in files], keep, self._freed)

    def _close_scratch(self, pid: int) -> None:
        for handle in self.scratch.pop(pid, ()):
            self._freed.pop(handle.fileno(), None)
            with contextlib.suppress(OSError):
                handle.close()

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
        random_state = random.getstate() if _RANDOM_SET[0] else None
        # The first children learn which pages a call writes, then one in 64 (it costs a
        # few milliseconds of CPU around the call); they do not copy ahead themselves.
        learn = self.copy_limit > 0 and (self.forked < 5 or self.forked % 64 == 0)
        kernel = os.getpid()
        files = (scratch_file("stdout"), scratch_file("stderr"))
        try:
            pid = os.fork()
        except OSError:
            for handle in files:
                handle.close()
            os.close(read_fd)
            os.close(write_fd)
            raise
        if pid == 0:  # pragma: no cover - runs in the child
            code = 1
            try:
                os.close(read_fd)
                # Other children's scratch files are theirs alone.
                for other in self.scratch.values():
                    for handle in other:
                        with contextlib.suppress(OSError):
                            os.close(handle.fileno())
                self._child(write_fd, random_state, learn, kernel, files)
                code = 0
            finally:
                os._exit(code)
        os.close(write_fd)
        self.scratch[pid] = files
        self.waiting[pid] = read_fd
        self._reports[pid] = bytearray()
        self.forked += 1

    def _child(  # pragma: no cover - child
        self,
        taken_fd: int,
        random_state: Any | None,
        learn: bool,
        kernel: int,
        files: tuple[Any, Any],
    ) -> None:
        # Everything here happens before a call arrives, off its critical path.
        os.setpgid(0, 0)  # its own group: a time limit kills it and what it started
        # Killed with the kernel (even mid-call, when no time limit is left to stop it);
        # a kernel gone before this line is seen by _accept.
        die_with_parent()
        # Orphans of what the call starts (daemons, setsid) come back to this process, which
        # kills them all before it answers.
        become_subreaper()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        gc.freeze()  # a collection would otherwise copy every inherited page
        if random_state is not None:  # fork reseeds `random`; keep the seed setup set
            random.setstate(random_state)
        # Open for the child's whole (short) life; its exit closes them.
        out_file, err_file = files
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_file.fileno(), 1)
        os.dup2(err_file.fileno(), 2)
        # One bounded stream per output: the kernel's streams, sys.stdout/err, then the fds.
        capture_out, capture_err = BoundedText(), BoundedText()
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
            copier = CopyAhead(self.copy_ahead)

        conn = self._accept(kernel)
        os.write(taken_fd, b"t")  # kept open: its closing at exit tells the kernel
        self.listener.close()
        faults = page_faults(thread=copier is not None)
        if copier is not None:
            copier.stop()
        send_message(conn, {"pid": os.getpid()})
        request = recv_message(conn)
        output_limit = int((request.get("limits") or {}).get("output", OUTPUT_LIMIT))
        # The kernel keeps the scratch files within the engine's output limit; a call that
        # asks for another one keeps its own (a thread of its own).
        scratch = None
        if output_limit != self.output_limit:
            scratch = ScratchBound([out_file.fileno(), err_file.fileno()])
            scratch.begin(keep=output_limit // 2)
        streams = (capture_out, capture_err)
        # Events, if asked for, go out as frames before the reply: {"event": {...}}.
        emit = _frame_sink(conn) if request.get("events") else None
        reply = run_request(request, self.shell.user_ns, self.shell, streams, emit)
        end_descendants()  # nothing the call started outlives its reply
        if scratch is not None:
            scratch.end()
        # What the call's code wrote to its file descriptors comes after: head and tail.
        for name, stream, handle in (
            ("stdout", capture_out, out_file),
            ("stderr", capture_err, err_file),
        ):
            head, unread, tail = read_head_tail(handle.fileno(), output_limit // 2)
            stream.write(head.decode("utf-8", "replace"))
            if unread:
                stream.gap(unread)  # bytes, counted as characters
                stream.write(tail.decode("utf-8", "replace"))
            reply[name] = stream.getvalue()
        send_reply(conn, reply, PARTS)
        faults = page_faults(thread=copier is not None) - faults
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
            write_all(taken_fd, pack_report(faults, copied, written))

    def _warm_up(self) -> None:  # pragma: no cover - child
        """Run the call machinery once on nothing, so the pages it writes are copied now
        rather than during the call (copy-on-write faults are most of a fork's cost)."""
        with contextlib.suppress(Exception):
            cell = {"index": None, "id": None, "source": "None", "return": True, "plain": True}
            request = {"cells": [cell], "record": "errors"}  # as synchronous calls are made
            reply = run_request(request, {"__builtins__": __builtins__}, self.shell)
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
        for pid in list(self.scratch):
            self._close_scratch(pid)
        self.listener.close()
        remove_socket(self.path)


def _frame_sink(conn: socket.socket) -> Any:  # pragma: no cover - child
    """A call's events as frames on its connection, ahead of its reply (one frame at a
    time, whichever of the call's threads writes)."""
    lock = threading.Lock()

    def emit(event: dict[str, Any]) -> None:
        with lock:
            send_message(conn, {"event": event})

    return emit


SERVER: ForkServer | None = None


def start_fork_server(
    shell: Any,
    prefork: int = 1,
    copy_limit: int = 64 << 20,
    sources_json: str = "[]",
    output_limit: int = OUTPUT_LIMIT,
) -> str:
    """Start the kernel's fork server once; returns its socket path as JSON text.

    ``sources_json``: the sources of the cells calls run (a JSON list), prepared once here
    rather than in every call's child; ``output_limit``: the calls' (the engine's
    ``max_output_size``).
    """
    global SERVER
    prepare_captures(shell, json.loads(sources_json))
    if SERVER is None:
        SERVER = ForkServer(shell, prefork, copy_limit, output_limit)
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
