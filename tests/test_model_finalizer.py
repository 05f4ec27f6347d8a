"""A KernelModel that is neither closed nor used in ``with`` releases, once garbage, every
process and thread it started."""

from __future__ import annotations

import gc
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from notebook_restified import KernelModel

from .notebooks import alive, descendants, write_notebook

pytestmark = pytest.mark.timeout(180)


def _left_after(before: set[int], seconds: float) -> set[int]:
    deadline = time.monotonic() + seconds
    while True:
        left = {pid for pid in descendants() - before if alive(pid)}
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


@pytest.mark.parametrize("isolation", ["fork", "kernel"])
def test_one_shot_models_leave_no_kernel(tmp_path: Path, isolation: str) -> None:
    path = write_notebook(
        tmp_path / "double.ipynb", ("n = 1", ["parameters"]), ("n * 2", ["return"])
    )
    before = descendants()
    threads = set(threading.enumerate())
    try:
        for n in range(3):
            assert KernelModel(path, isolation=isolation).execute(n=n) == 2 * n
        gc.collect()
        left = _left_after(before, 15)
        assert left == set(), f"{len(left)} processes of the models are left"
        new_threads = [t.name for t in set(threading.enumerate()) - threads if t.is_alive()]
        assert "restified-kernel-model" not in new_threads
    finally:
        for pid in descendants() - before:  # a failing run leaves nothing behind either
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_model_in_a_reference_cycle_is_released_by_the_collector(tmp_path: Path) -> None:
    path = write_notebook(
        tmp_path / "double.ipynb", ("n = 1", ["parameters"]), ("n * 2", ["return"])
    )
    before = descendants()
    try:
        model = KernelModel(path)
        model.cycle = model  # type: ignore[attr-defined]  # only the collector can free it
        assert model.execute(n=4) == 8
        del model
        gc.collect()
        assert _left_after(before, 15) == set()
    finally:
        for pid in descendants() - before:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
