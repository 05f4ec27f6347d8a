"""The processes a run starts: servers started and stopped with everything they started
(what survives is reported), and what /proc tells of a process tree (its members, memory,
zombies). Which processes descend from which, their PSS and whether they live come from the
package (``notebook_restified.engine``); what it does not read (parent, start time, CPU
ticks, RSS and command line of one process) is read here."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from notebook_restified.engine.housekeeping import process_alive
from notebook_restified.engine.memory import descendants, pss


def living_descendants(root: int) -> list[int]:
    """Pids of every living process below ``root``."""
    return [pid for pid in descendants([root]) if pid != root and process_alive(pid)]


def zombies_below(root: int) -> set[int]:
    """Processes below ``root`` that exited and that their parent has not reaped yet."""
    return {pid for pid in descendants([root]) if pid != root and not process_alive(pid)}


def stat_fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (the first is the state),
    or None if the process is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def parent_pid(pid: int) -> int:
    """The parent of ``pid`` (0 if it is gone)."""
    fields = stat_fields(pid)
    return int(fields[1]) if fields else 0


def start_time(pid: int) -> int | None:
    """When ``pid`` started (clock ticks after boot): tells it from a later process given
    the same pid. None if it is gone."""
    fields = stat_fields(pid)
    return int(fields[19]) if fields else None


def rss_kb(pid: int) -> int | None:
    """Resident size (VmRSS) of ``pid`` in KiB; None if it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def pss_kb(pid: int) -> int | None:
    """Proportional set size of ``pid`` in KiB; None if it cannot be read."""
    size = pss(pid, fallback=-1)
    return None if size < 0 else size // 1024


def command_line(pid: int) -> str:
    """A process's command line, shortened."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    words = [w.decode("utf-8", "replace") for w in raw.split(b"\0") if w]
    words = [
        os.path.basename(w) if w.startswith("/") and i == 0 else w for i, w in enumerate(words)
    ]
    text = " ".join(w if len(w) < 60 else "..." + w[-40:] for w in words)
    return text[:160]


def memory_of_tree(root: int) -> dict[str, Any]:
    """RSS (VmRSS) and PSS of ``root``'s descendants, and of ``root`` itself."""
    processes = [
        {
            "pid": pid,
            "ppid": parent_pid(pid),
            "command": command_line(pid),
            "rss_kb": rss_kb(pid),
            "pss_kb": pss_kb(pid),
        }
        for pid in living_descendants(root)
    ]
    return {
        "server_rss_kb": rss_kb(root),
        "descendants": processes,
        "descendants_rss_kb": sum(p["rss_kb"] or 0 for p in processes),
        "descendants_pss_kb": sum(p["pss_kb"] or 0 for p in processes),
    }


@contextlib.contextmanager
def stderr_to(path: Path) -> Iterator[None]:
    """Send file descriptor 2 (and so kernels started meanwhile) to ``path``."""
    sys.stderr.flush()
    saved = os.dup(2)
    with path.open("ab") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


@dataclass
class Managed:
    """A subprocess the benchmark started, with its log file."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of its output."""
        self.log.flush()
        text = self.log_path.read_text("utf-8", "replace")
        return "\n".join(text.splitlines()[-lines:])


class Subprocesses:
    """Starts servers and stops them with everything they started; reports what survived."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.running: list[Managed] = []
        self.leftovers: list[dict[str, Any]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Managed:
        """Start ``argv`` in its own session, output to ``<log_dir>/<name>.log``."""
        log_path = self.log_dir / f"{name}.log"
        log = log_path.open("wb")
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        managed = Managed(name, proc, log_path, log)
        self.running.append(managed)
        return managed

    def stop(self, managed: Managed, grace: float = 20.0) -> list[dict[str, Any]]:
        """SIGTERM (a graceful shutdown), then SIGKILL past ``grace`` seconds. Processes it
        started that are still alive 5 s after it exited are killed and returned."""
        tree = {pid: start_time(pid) for pid in living_descendants(managed.proc.pid)}
        commands = {pid: command_line(pid) for pid in tree}
        if managed.proc.poll() is None:
            managed.proc.send_signal(signal.SIGTERM)
            try:
                managed.proc.wait(grace)
            except subprocess.TimeoutExpired:
                print(f"  ! {managed.name} ignored SIGTERM for {grace:.0f} s: SIGKILL")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(managed.proc.pid, signal.SIGKILL)
                managed.proc.wait(10)
        managed.log.close()
        if managed in self.running:
            self.running.remove(managed)

        def survivors() -> list[int]:
            # A pid with another start time is a new process that was given the same pid.
            return [
                pid
                for pid, started in tree.items()
                if started is not None and start_time(pid) == started and process_alive(pid)
            ]

        deadline = time.monotonic() + 5
        while survivors() and time.monotonic() < deadline:
            time.sleep(0.1)
        left: list[dict[str, Any]] = [
            {"server": managed.name, "pid": pid, "command": commands[pid]} for pid in survivors()
        ]
        for item in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(item["pid"], signal.SIGKILL)
        self.leftovers.extend(left)
        return left

    def stop_all(self) -> None:
        """Stop whatever is still running (on the way out, also after an error)."""
        for managed in list(reversed(self.running)):
            self.stop(managed, grace=10.0)
