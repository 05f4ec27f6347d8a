"""Housekeeping of what killed processes leave behind: their private socket directories.

Every engine sweeps, at start, the directories of this user's processes that are gone
(see ``kernelside/processes.py`` for their names)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile

from ..kernelside.processes import PRIVATE_PREFIX, pid_namespace

_SWEEPABLE = re.compile(re.escape(PRIVATE_PREFIX) + r"(?:fork|ipc)-(\d+)-(\d+)-[^/]+")


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
    """Remove the private directories (see :func:`~notebook_restified.kernelside.processes.private_directory`) of this user's
    processes that are gone; returns their paths. A process of another PID namespace (a
    container sharing the temporary directory) cannot be seen: its directories stay."""
    namespace = pid_namespace()
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
