"""Every process a call starts is gone when the call ends, whatever the outcome: in a new
session (``setsid``), a daemon (double fork), or simply left running, in both isolations."""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from notebook_restified import KernelModel
from notebook_restified.errors import CallTimeout

from .notebooks import alive, write_notebook

pytestmark = pytest.mark.timeout(180)


def _running(argument: str) -> list[int]:
    """Living processes whose command line has ``argument`` (a unique sleep length)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            words = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argument.encode() in words and alive(int(entry)):
            found.append(int(entry))
    return found


@pytest.fixture
def seconds() -> Iterator[str]:
    """A sleep length no other process uses; whatever still sleeps it at the end is killed
    (so a failing run leaves nothing behind)."""
    value = f"{1000 + random.random():.9f}"
    yield value
    for pid in _running(value):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    return write_notebook(
        tmp_path / "spawn.ipynb",
        "import os, subprocess, time",
        ("seconds = '1000'\nloop = False", ["parameters"]),
        (
            "subprocess.Popen(['setsid', 'sleep', seconds])  # a session of its own\n"
            "subprocess.Popen(['sleep', seconds])  # left running\n"
            "# A daemon: its parent exits at once, and it has a session of its own.\n"
            "subprocess.run(['sh', '-c', f'(setsid sleep {seconds} &); exit 0'], check=True)\n"
            "if os.fork() == 0:  # a forked copy of the call itself, in a session of its own\n"
            "    os.setsid()\n"
            "    os.execvp('sleep', ['sleep', seconds])\n"
            "deadline = time.monotonic() + 10\n"
            "while time.monotonic() < deadline and len(subprocess.run(\n"
            "    ['pgrep', '-f', f'sleep {seconds}'], capture_output=True).stdout.split()) < 4:\n"
            "    time.sleep(0.05)  # all four run\n"
            "while loop:\n"
            "    time.sleep(0.05)\n"
            "'started'",
            ["return"],
        ),
    )


@pytest.mark.parametrize("isolation", ["fork", "kernel"])
def test_processes_a_call_starts_end_with_it(notebook: Path, seconds: str, isolation: str) -> None:
    with KernelModel(notebook, isolation=isolation, time_limit=30) as model:
        assert model.execute(seconds=seconds) == "started"
        assert _running(seconds) == []

        with pytest.raises(CallTimeout):
            model.execute(seconds=seconds, loop=True, time_limit=4)
        assert _running(seconds) == []

        assert model.execute(seconds=seconds) == "started"  # the model still serves
        assert _running(seconds) == []
