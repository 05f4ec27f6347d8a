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
