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
            for fd in self.fds:
                with contextlib.suppress(OSError):
                    size = os.fstat(fd).st_size
                    if size - freed[fd] > 4 * self.keep + _PAGE:
                        if not punch_hole(fd, max(self.keep, freed[fd]), size - self.keep):
                            return
                        freed[fd] = size - self.keep


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
