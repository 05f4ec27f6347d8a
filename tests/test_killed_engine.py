"""An engine killed outright leaves no process running; the directories it leaves in the
temporary directory, the next engine removes."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from notebook_restified.engine import Engine
from notebook_restified.engine.housekeeping import sweep_directories
from notebook_restified.kernelside.processes import pid_namespace

from .notebooks import alive, descendants, write_notebook

pytestmark = pytest.mark.timeout(120)


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_only_directories_of_this_users_gone_processes_are_removed(tmp_path: Path) -> None:
    namespace = pid_namespace()
    if not namespace:
        pytest.skip("no PID namespace to read here")
    dead, me = _dead_pid(), os.getpid()
    gone = [
        tmp_path / f"restified-fork-{namespace}-{dead}-a1",
        tmp_path / f"restified-ipc-{namespace}-{dead}-b2",
    ]
    kept = [
        tmp_path / f"restified-fork-{namespace}-{me}-c3",  # its process runs
        tmp_path / f"restified-fork-{namespace + 1}-{dead}-d4",  # another namespace's pid
        tmp_path / f"restified-other-{namespace}-{dead}-e5",  # not a kind it makes
        tmp_path / "unrelated",
    ]
    for directory in gone + kept:
        directory.mkdir()
        (directory / "fork.sock").write_text("")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "precious").write_text("keep")
    link = tmp_path / f"restified-fork-{namespace}-{dead}-f6"
    link.symlink_to(elsewhere)  # never followed
    plain = tmp_path / f"restified-ipc-{namespace}-{dead}-g7"
    plain.write_text("a file, not a directory")

    removed = sweep_directories(str(tmp_path))

    assert sorted(removed) == sorted(str(path) for path in gone)
    assert not any(path.exists() for path in gone)
    assert all(path.exists() for path in kept)
    assert (elsewhere / "precious").read_text() == "keep"
    assert link.is_symlink()
    assert plain.is_file()


def _left(owners: set[int], root: Path | None = None) -> list[str]:
    """The private directories in the temporary directory (``root``) named for one of
    ``owners``."""
    found = glob.glob(os.path.join(root or tempfile.gettempdir(), "restified-*-*-*-*"))
    return [d for d in found if int(os.path.basename(d).split("-")[3]) in owners]


def _kill_engine(path: Path, then: str, tmp: Path | None = None) -> set[int]:
    """Run a KernelModel of the notebook at ``path`` in a process of its own (with ``tmp``
    as its temporary directory, if given): one call with its defaults, then the statement
    ``then``; kill that process outright a moment later. Returns the ids of it and of its
    descendants then, once they are gone (or after 30 seconds)."""
    script = (
        "import time\n"
        "from notebook_restified import KernelModel\n"
        f"model = KernelModel({str(path)!r}, time_limit=600)\n"
        "print(repr(model.execute()), flush=True)\n"
        f"{then}\n"
    )
    env = {**os.environ, "TMPDIR": str(tmp)} if tmp is not None else None
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env
    ) as engine:
        try:
            assert engine.stdout is not None
            assert engine.stdout.readline().strip() == "'done'"
            time.sleep(1)  # ``then`` is under way
            owners = {engine.pid, *descendants(engine.pid)}
        finally:
            engine.send_signal(signal.SIGKILL)
    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in owners) and time.monotonic() < deadline:
        time.sleep(0.1)
    return owners


def test_a_killed_engines_directories_are_removed_by_the_next_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    if not pid_namespace():
        pytest.skip("no PID namespace to read here")
    # A temporary directory of its own (any other engine on this machine sweeps the shared
    # one), with a short path: Unix socket paths are limited to about 100 bytes.
    tmp = Path(tempfile.mkdtemp(prefix="rk-", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(tmp, ignore_errors=True))
    path = write_notebook(tmp_path / "k.ipynb", ("'done'", ["return"]))
    owners = _kill_engine(path, then="time.sleep(120)", tmp=tmp)
    # Its kernels saw their parent go and exited; nothing of it could remove its directories.
    assert [pid for pid in owners if alive(pid)] == []
    assert {os.path.basename(d).split("-")[1] for d in _left(owners, tmp)} == {"ipc", "fork"}

    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    Engine()

    assert _left(owners, tmp) == []


def test_a_call_running_when_its_engine_is_killed_is_killed_too(tmp_path: Path) -> None:
    # With the engine gone no time limit can stop the call: it goes with its kernel.
    path = write_notebook(
        tmp_path / "loop.ipynb",
        ("forever = False", ["parameters"]),
        "import time\nwhile forever:\n    time.sleep(0.01)",
        ("'done'", ["return"]),
    )
    owners = _kill_engine(path, then="model.execute(forever=True)")
    assert len(owners) >= 5  # it, its warm and spare kernels, a child waiting, the call's
    assert [pid for pid in owners if alive(pid)] == []
