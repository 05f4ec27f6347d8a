"""Process tools of the kernel side: C library calls, the parent-death signal, page-fault
counts, scratch files, and the private directories its sockets live in.

Standard library only (this module is sent into kernels). The server imports it too, for
the directories' names, which its housekeeping reads.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import tempfile
import threading
import time
from typing import Any

_LIBC: dict[str, Any] = {}  # looked up once, in the kernel: children inherit them


def libc(name: str, *argtypes: Any) -> Any:
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


def prctl() -> Any:  # Linux's
    """Linux's ``prctl(option, arg)``, or None."""
    return libc("prctl", ctypes.c_int, ctypes.c_ulong)


_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Have Linux SIGKILL this process when the thread that forked it ends (with its
    process, or when the fork server stops)."""
    function = prctl()
    if function is not None:
        function(_PR_SET_PDEATHSIG, signal.SIGKILL)


_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Have Linux re-parent to this process the orphans among its descendants (a daemon's
    double fork, a process whose parent exited), so that :func:`end_descendants` finds
    them all. False where it cannot."""
    function = prctl()
    return function is not None and function(_PR_SET_CHILD_SUBREAPER, 1) == 0


def descendant_pids(root: int) -> list[int]:
    """Pids of the processes below ``root`` that have not exited, parents first, from
    Linux's /proc (empty elsewhere)."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if fields[0] not in (b"Z", b"X"):
            children.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    level = children.get(root, [])
    while level:
        found.extend(level)
        level = [child for pid in level for child in children.get(pid, [])]
    return found


_STOPPED = (b"T", b"t", b"Z", b"X")
_DEAD = (b"Z", b"X")


def _wait_for(pids: list[int], states: tuple[bytes, ...], timeout: float = 1.0) -> None:
    """Wait until each of ``pids`` is in one of ``states`` or gone, as /proc shows (at most
    ``timeout`` seconds): a signal lands some time after it is sent."""
    deadline = time.monotonic() + timeout
    waiting = list(pids)
    while waiting and time.monotonic() < deadline:
        left = []
        for pid in waiting:
            try:
                with open(f"/proc/{pid}/stat", "rb") as stat:
                    state = stat.read().rsplit(b")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue  # gone, or no /proc to tell
            if state not in states:
                left.append(pid)
        waiting = left
        if waiting:
            time.sleep(0.001)


def stop_and_kill(pids: list[int], more: Any = None) -> list[int]:
    """SIGSTOP ``pids`` and whatever ``more()`` (a function giving pids) finds after, until
    it finds none new, so none forks again while the others are found; then SIGKILL all,
    and wait (a little) until they have exited. Returns the pids signalled (a session or
    process group of their own does not save them)."""
    stopped: list[int] = []
    seen: set[int] = set()
    for _ in range(64):  # each round stops a generation born meanwhile
        fresh = [pid for pid in pids if pid not in seen]
        if not fresh:
            break
        for pid in fresh:
            seen.add(pid)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGSTOP)
                stopped.append(pid)
        _wait_for(fresh, _STOPPED)  # until the signal lands, a process may still fork
        pids = list(more()) if more is not None else []
    for pid in stopped:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    _wait_for(stopped, _DEAD)  # gone when this returns, not only told to go
    return stopped


def end_descendants(timeout: float = 5.0) -> None:
    """Kill every process below this one and reap its children, so nothing a call started
    outlives it (all of them, orphans included, once :func:`become_subreaper` was called).
    A process that has no child at all returns at once."""
    me = os.getpid()
    deadline = time.monotonic() + timeout
    while True:
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass  # reaped one; more may have exited
        except ChildProcessError:
            return  # no child left
        if time.monotonic() > deadline:
            return  # one that cannot be killed (another user's): leave it to the parent
        stop_and_kill(descendant_pids(me), lambda: descendant_pids(me))
        time.sleep(0.001)


def page_faults(thread: bool = False) -> int:
    """Page faults this process (or only this thread) took so far, that needed no disk."""
    import resource  # Unix only, as fork is

    who = (
        getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF) if thread else resource.RUSAGE_SELF
    )
    return resource.getrusage(who).ru_minflt


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to the file descriptor ``fd``."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def scratch_file(name: str) -> Any:
    """An anonymous file for what a child's code writes to its file descriptors 1 and 2."""
    make = getattr(os, "memfd_create", None)  # Linux: one system call, no file system
    if make is not None:
        with contextlib.suppress(OSError):
            return os.fdopen(make(f"restified-{name}", 0), "w+b")
    return tempfile.TemporaryFile()  # closed when the child exits


_FALLOC_FL_KEEP_SIZE = 1
_FALLOC_FL_PUNCH_HOLE = 2
_PAGE = 4096


def punch_hole(fd: int, start: int, end: int) -> bool:
    """Free the file's blocks between ``start`` and ``end`` (bytes, rounded inwards to
    pages), keeping its size: they read as zeros. False where the system cannot."""
    start = -(-start // _PAGE) * _PAGE
    end = end // _PAGE * _PAGE
    if end <= start:
        return True
    function = libc("fallocate", ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long)
    if function is None:
        return False
    return bool(function(fd, _FALLOC_FL_PUNCH_HOLE | _FALLOC_FL_KEEP_SIZE, start, end - start) == 0)


class ScratchBound:
    """Keeps the scratch files a call's file descriptors 1 and 2 write to (``fds``) within
    about ``2 * keep`` bytes of memory each, however much is written: a thread frees, every
    ``interval`` seconds while the call runs, what lies between a file's first ``keep``
    bytes and its last ``keep`` (:func:`punch_hole`), the part :func:`read_head_tail` never
    reads. Started ahead of the call; :meth:`begin` when it comes, :meth:`end` after."""

    interval = 0.02

    def __init__(self, fds: list[int]) -> None:
        self.fds = fds
        self.keep = 0
        self._begin = threading.Event()
        self._end = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="restified-scratch", daemon=True)
        self._thread.start()

    def begin(self, keep: int) -> None:
        """The call starts: keep the first and last ``keep`` bytes of each file."""
        self.keep = keep
        self._begin.set()

    def end(self) -> None:
        """The call is over: stop watching."""
        self._end.set()
        self._begin.set()
        self._thread.join()

    def _watch(self) -> None:
        self._begin.wait()
        freed = dict.fromkeys(self.fds, 0)  # where each file's freed part ends so far
        while not self._end.wait(self.interval):
            if not trim_scratch(self.fds, self.keep, freed):
                return


def trim_scratch(fds: list[int], keep: int, freed: dict[int, int]) -> bool:
    """Free what lies between each scratch file's first and last ``keep`` bytes once that
    is worth it (``freed``: where each file's freed part ends so far, updated). ``False``
    when the file system cannot free parts of a file (then there is no point trying again)."""
    for fd in fds:
        with contextlib.suppress(OSError):
            size = os.fstat(fd).st_size
            done = freed.get(fd, 0)
            if size - done > 4 * keep + _PAGE:
                if not punch_hole(fd, max(keep, done), size - keep):
                    return False
                freed[fd] = size - keep
    return True


def read_head_tail(fd: int, keep: int) -> tuple[bytes, int, bytes]:
    """A file's first ``keep`` bytes, how many bytes follow them unread, and its last
    ``keep`` bytes (all of it in the first part when it holds ``2 * keep`` or fewer)."""
    size = os.fstat(fd).st_size
    if size <= 2 * keep:
        return os.pread(fd, size, 0), 0, b""
    return os.pread(fd, keep, 0), size - 2 * keep, os.pread(fd, keep, size - keep)


# Private temporary directories (Unix sockets: the fork servers' and the local kernels'
# connections) are named for the process that made them, "restified-<kind>-<pid
# namespace>-<pid>-<random>", so that once that process is gone without removing its own
# (killed), the server's housekeeping (engine/housekeeping.py) can.
PRIVATE_PREFIX = "restified-"


def pid_namespace() -> int:
    """This process's PID namespace (0 where there is no such thing to read)."""
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return 0


def private_directory(kind: str) -> str:
    """A new temporary directory only this user may enter, named for this process."""
    return tempfile.mkdtemp(prefix=f"{PRIVATE_PREFIX}{kind}-{pid_namespace()}-{os.getpid()}-")


def remove_socket(path: str) -> None:
    """Remove a fork server's socket and its private directory, if still there."""
    with contextlib.suppress(OSError):
        os.unlink(path)
    with contextlib.suppress(OSError):
        os.rmdir(os.path.dirname(path))
