"""KernelModel against real ipykernel kernels: results, errors, limits, isolation, cleanup."""

from __future__ import annotations

import glob
import json
import os
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from notebook_restified import KernelModel
from notebook_restified.errors import (
    CallTimeout,
    ExecutionError,
    InvalidParameters,
    KernelDied,
)

from .notebooks import alive, descendants, write_notebook

EXAMPLES = Path(__file__).parent.parent / "examples"

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(params=["fork", "kernel"])
def isolation(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def model_of(path: Path, isolation: str = "fork", **kwargs: object) -> KernelModel:
    return KernelModel(path, isolation=isolation, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def fib(tmp_path: Path, isolation: str) -> Iterator[KernelModel]:
    path = write_notebook(
        tmp_path / "fib.ipynb",
        "# md Fibonacci",
        "from functools import lru_cache",
        ("n = 10  # which number", ["parameters"]),
        "@lru_cache(None)\ndef fib(k):\n    return k if k < 2 else fib(k - 1) + fib(k - 2)",
        ("print('exploring')\nraise RuntimeError('skip cells never run')", ["skip"]),
        ("fib(n)", ["return"]),
        "raise RuntimeError('cells after return never run')",
    )
    with model_of(path, isolation) as model:
        yield model


def test_default_and_given_values(fib: KernelModel) -> None:
    assert fib.execute() == 55
    value = fib.execute({"n": 20})
    assert value == 6765
    assert type(value) is int
    assert fib.execute(n=1) == 1


def test_unknown_parameter_is_refused_before_running(fib: KernelModel) -> None:
    with pytest.raises(InvalidParameters) as err:
        fib.execute({"m": 3, "n": "ten"})
    names = sorted(d["name"] for d in err.value.details)
    assert names == ["m", "n"]


def test_values_of_every_kind(tmp_path: Path, isolation: str) -> None:
    path = write_notebook(
        tmp_path / "kinds.ipynb",
        "import datetime, numpy as np, pandas as pd",
        ("kind = 'dict'", ["parameters"]),
        (
            "values = {\n"
            "  'dict': {'a': 1, 'b': [1, 2.5, None]},\n"
            "  'numpy': np.arange(3),\n"
            "  'scalar': np.float64(2.5),\n"
            "  'frame': pd.DataFrame({'x': [1, 2], 'y': ['a', None]}),\n"
            "  'series': pd.Series([1, 2], index=['a', 'b']),\n"
            "  'when': datetime.datetime(2024, 5, 1, 12, 30),\n"
            "  'set': {3, 1, 2},\n"
            "  'tuple': (1, 'a'),\n"
            "  'nan': float('nan'),\n"
            "}\n"
            "values[kind]",
            ["return"],
        ),
    )
    with model_of(path, isolation) as model:
        assert model.execute(kind="dict") == {"a": 1, "b": [1, 2.5, None]}
        assert model.execute(kind="numpy") == [0, 1, 2]
        assert model.execute(kind="scalar") == 2.5
        frame = model.call(kind="frame")
        assert frame.value == [{"x": 1, "y": "a"}, {"x": 2, "y": None}]
        assert frame.kind == "table"
        assert frame.csv is not None
        assert frame.csv.splitlines()[0] == "x,y"
        assert model.execute(kind="series") == {"a": 1, "b": 2}
        assert model.execute(kind="when") == "2024-05-01T12:30:00"
        assert model.execute(kind="set") == [1, 2, 3]
        assert model.execute(kind="tuple") == [1, "a"]
        assert model.execute(kind="nan") is None


def test_figure_comes_back_as_png(tmp_path: Path) -> None:
    path = write_notebook(
        tmp_path / "plot.ipynb",
        "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt",
        ("points = 5", ["parameters"]),
        ("fig, ax = plt.subplots()\nax.plot(range(points))\nfig", ["return"]),
    )
    with model_of(path) as model:
        result = model.call(points=3)
        assert result.kind == "image"
        assert result.png is not None
        assert result.png.startswith(b"\x89PNG\r\n\x1a\n")
        png = model.execute()
        assert isinstance(png, bytes)
        assert png.startswith(b"\x89PNG")


def test_cell_error_is_precise(tmp_path: Path, isolation: str) -> None:
    path = write_notebook(
        tmp_path / "err.ipynb",
        ("x = 1", ["parameters"]),
        "y = x + 1",
        ("def check(v):\n    raise ValueError(f'bad value {v}')\ncheck(y)", ["return"]),
    )
    with model_of(path, isolation) as model:
        with pytest.raises(ExecutionError) as err:
            model.execute(x=4)
        error = err.value
        assert error.cell_index == 2
        assert error.cell_id is not None
        assert error.ename == "ValueError"
        assert error.evalue == "bad value 5"
        text = "\n".join(error.traceback)
        assert "\x1b[" not in text
        assert "raise ValueError(f'bad value {v}')" in text
        assert "<cell 2>" in text
        with pytest.raises(ExecutionError) as again:
            model.execute(x=0)
        assert again.value.evalue == "bad value 1"


def test_setup_error_names_the_setup_cell(tmp_path: Path) -> None:
    path = write_notebook(
        tmp_path / "setup.ipynb",
        "import json",
        "import not_a_module_anywhere",
        ("n = 1", ["parameters"]),
        ("n", ["return"]),
    )
    with model_of(path) as model, pytest.raises(ExecutionError) as err:
        model.execute()
    assert err.value.cell_index == 1
    assert err.value.ename == "ModuleNotFoundError"


def test_time_limit_stops_the_call_and_the_next_call_works(tmp_path: Path, isolation: str) -> None:
    path = write_notebook(
        tmp_path / "loop.ipynb",
        ("spin = False", ["parameters"]),
        ("while spin:\n    pass\n'done'", ["return"]),
    )
    with model_of(path, isolation, time_limit=20) as model:
        assert model.execute() == "done"
        started = time.monotonic()
        with pytest.raises(CallTimeout) as err:
            model.execute(spin=True, time_limit=1.5)
        assert time.monotonic() - started < 10
        assert err.value.time_limit == 1.5
        assert model.execute() == "done"


def test_kernel_death_is_reported_and_the_next_call_works(tmp_path: Path, isolation: str) -> None:
    path = write_notebook(
        tmp_path / "die.ipynb",
        "import os",
        ("die = False", ["parameters"]),
        ("if die:\n    os._exit(1)\n'alive'", ["return"]),
    )
    with model_of(path, isolation) as model:
        assert model.execute() == "alive"
        with pytest.raises(KernelDied):
            model.execute(die=True)
        assert model.execute() == "alive"


def test_calls_are_isolated(tmp_path: Path, isolation: str) -> None:
    path = write_notebook(
        tmp_path / "iso.ipynb",
        "import os, json\nitems = []\nstart_dir = os.getcwd()",
        ("tag = 'x'", ["parameters"]),
        (
            "items.append(tag)\n"
            "seen = {'items': list(items), 'flag': getattr(json, 'restified_flag', None),\n"
            "        'cwd_moved': os.getcwd() != start_dir, 'leak': globals().get('leak')}\n"
            "json.restified_flag = tag\n"
            "leak = tag\n"
            "os.chdir('/')\n"
            "seen",
            ["return"],
        ),
    )
    with model_of(path, isolation) as model:
        for tag in ("a", "b", "c"):
            assert model.execute(tag=tag) == {
                "items": [tag],
                "flag": None,
                "cwd_moved": False,
                "leak": None,
            }


def test_output_is_captured_not_leaked(tmp_path: Path) -> None:
    path = write_notebook(
        tmp_path / "out.ipynb",
        "import logging, sys, os\nlogging.basicConfig(level=logging.INFO)",
        ("n = 1", ["parameters"]),
        (
            "print('to stdout')\n"
            "logging.info('through a setup handler')\n"
            "os.write(1, b'raw fd write\\n')\n"
            "sys.stderr.write('to stderr\\n')\n"
            "n",
            ["return"],
        ),
    )
    with model_of(path) as model:
        result = model.call()
        assert result.value == 1
        assert "to stdout" in result.stdout
        assert "raw fd write" in result.stdout
        assert "to stderr" in result.stderr
        assert "through a setup handler" in result.stderr


def test_ipython_syntax_and_top_level_await(tmp_path: Path, isolation: str) -> None:
    path = write_notebook(
        tmp_path / "ipy.ipynb",
        "import asyncio",
        ("n = 2", ["parameters"]),
        "lines = !echo hello\nawait asyncio.sleep(0)",
        ("%time squared = n * n\n{'squared': squared, 'shell': lines[0]}", ["return"]),
    )
    with model_of(path, isolation) as model:
        assert model.execute(n=3) == {"squared": 9, "shell": "hello"}


@pytest.mark.parametrize(
    "seeding",
    [
        "random.seed(42)",
        "from random import seed\nseed(42)",
        "random.setstate(random.Random(42).getstate())",
    ],
)
def test_seeded_random_repeats_in_fork_mode(tmp_path: Path, seeding: str) -> None:
    path = write_notebook(
        tmp_path / "rand.ipynb",
        f"import random\n{seeding}\nrandom.random()",
        ("n = 1", ["parameters"]),
        ("random.random()", ["return"]),
    )
    with model_of(path) as model:
        first = model.execute()
        assert model.execute() == first
        assert model.execute() == first


def test_a_parameter_may_be_named_as_ipythons_get_ipython(tmp_path: Path, isolation: str) -> None:
    # The engine finds the kernel's shell without the notebook's names.
    path = write_notebook(
        tmp_path / "shadow.ipynb",
        ("get_ipython = 1\nid = 2", ["parameters"]),
        ("get_ipython + id", ["return"]),
    )
    with model_of(path, isolation) as model:
        assert model.execute() == 3
        assert model.execute(get_ipython=10) == 12


def test_unseeded_random_is_fresh_per_call_in_fork_mode(tmp_path: Path) -> None:
    # Setup draws from `random` without seeding it: no call repeats another's numbers.
    path = write_notebook(
        tmp_path / "fresh.ipynb",
        "import random\ndrawn_in_setup = random.random()",
        ("n = 1", ["parameters"]),
        ("[random.random(), random.getrandbits(64)]", ["return"]),
    )
    with model_of(path) as model:
        answers = [tuple(model.execute()) for _ in range(4)]
    assert len(set(answers)) == 4


def test_a_saved_change_is_seen_by_the_next_call(tmp_path: Path, isolation: str) -> None:
    path = tmp_path / "edit.ipynb"
    write_notebook(path, "base = 1", ("n = 1", ["parameters"]), ("base + n", ["return"]))
    with model_of(path, isolation) as model:
        assert model.execute() == 2
        time.sleep(0.01)
        write_notebook(path, "base = 100", ("n = 1", ["parameters"]), ("base * n", ["return"]))
        assert model.execute(n=3) == 300
        write_notebook(path, "base = 100", ("n = 1", ["parameters"]), ("base - n", ["return"]))
        assert model.execute(n=3) == 97


def test_no_return_cell_gives_none(tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "none.ipynb", ("n = 1", ["parameters"]), "m = n + 1")
    with model_of(path) as model:
        result = model.call()
        assert result.value is None
        assert result.has_value is False


def test_notebook_of_2019_runs_unchanged(isolation: str) -> None:
    path = EXAMPLES / "legacy_2019.ipynb"
    with model_of(path, isolation) as model:
        assert model.spec.parameters[0].type == "int"
        assert model.execute(n=15) == 610
        assert model.execute() == 610


def test_close_leaves_no_process(tmp_path: Path, isolation: str) -> None:
    path = write_notebook(
        tmp_path / "procs.ipynb",
        "import subprocess",
        ("n = 1", ["parameters"]),
        ("n * 2", ["return"]),
    )
    before = descendants()
    model = model_of(path, isolation)
    for n in range(5):
        assert model.execute(n=n) == n * 2
    deadline = time.monotonic() + 30  # in kernel mode the next spare may still be starting
    while not model.kernel_pids() and time.monotonic() < deadline:
        time.sleep(0.1)
    pids = model.kernel_pids()
    assert pids, "a warm kernel should be held between calls"
    assert all(alive(pid) for pid in pids)
    model.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (descendants() - before):
        time.sleep(0.1)
    assert descendants() - before == set()
    assert not any(alive(pid) for pid in pids)


def test_timed_out_call_leaves_no_process(tmp_path: Path) -> None:
    path = write_notebook(
        tmp_path / "sub.ipynb",
        "import subprocess, time",
        ("wait = 0", ["parameters"]),
        (
            "if wait:\n    subprocess.Popen(['sleep', '300'])\n    time.sleep(wait)\n'ok'",
            ["return"],
        ),
    )
    with model_of(path) as model:
        with pytest.raises(CallTimeout):
            model.execute(wait=300, time_limit=2)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _sleepers():
            time.sleep(0.1)
        assert _sleepers() == []
        assert model.execute() == "ok"


def _sleepers() -> list[int]:
    """Processes below this one running the call's `sleep 300`."""
    found = []
    for pid in descendants():
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmd[:2] == [b"sleep", b"300"]:
            found.append(pid)
    return found


def test_result_is_strict_json(tmp_path: Path) -> None:
    path = write_notebook(
        tmp_path / "strict.ipynb",
        ("n = 1", ["parameters"]),
        ("[float('inf'), float('-inf'), float('nan'), 10**30]", ["return"]),
    )
    with model_of(path) as model:
        value = model.execute()
        assert json.loads(json.dumps(value, allow_nan=False)) == [None, None, None, 10**30]


def test_model_works_from_another_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_notebook(
        tmp_path / "data" / "rel.ipynb",
        "from pathlib import Path\nvalue = Path('value.txt').read_text()",
        ("n = 1", ["parameters"]),
        ("value * n", ["return"]),
    )
    (tmp_path / "data" / "value.txt").write_text("ab")
    monkeypatch.chdir(os.path.expanduser("~"))
    with model_of(path) as model:
        assert model.execute(n=2) == "abab"


def test_a_notebook_can_opt_out_of_fork(tmp_path: Path) -> None:
    path = write_notebook(
        tmp_path / "optout.ipynb",
        "import os",
        ("n = 1", ["parameters"]),
        ("os.getpid()", ["return"]),
    )
    nb = nbformat.read(path, as_version=4)
    nb.metadata["restified"] = {"isolation": "kernel"}
    nbformat.write(nb, path)
    with model_of(path) as model:
        assert model.spec.isolation == "kernel"
        first, second = model.execute(), model.execute()
        assert first != second  # a fresh kernel per call
        assert model._engine.stats()["warm_notebooks"][0]["isolation"] == "kernel"


def test_failing_setup_is_not_rerun_for_every_call(tmp_path: Path) -> None:
    path = write_notebook(
        tmp_path / "flaky.ipynb",
        "import pathlib\nruns = pathlib.Path('runs.txt')\n"
        "runs.write_text(runs.read_text() + 'x' if runs.exists() else 'x')\n"
        "raise RuntimeError('setup is broken')",
        ("n = 1", ["parameters"]),
        ("n", ["return"]),
    )
    with model_of(path) as model:
        for _ in range(3):
            with pytest.raises(ExecutionError) as err:
                model.execute()
            assert err.value.cell_index == 0
        assert (tmp_path / "runs.txt").read_text() == "x"
        write_notebook(path, "ok = 1", ("n = 1", ["parameters"]), ("n + ok", ["return"]))
        assert model.execute() == 2  # a fixed notebook runs at once


def test_close_right_after_a_call_stops_the_kernel_still_starting(tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "quick.ipynb", ("n = 1", ["parameters"]), ("n", ["return"]))
    before = descendants()
    model = model_of(path)
    assert model.execute() == 1  # the spare kernel for the next notebook is starting now
    model.close()
    deadline = time.monotonic() + 10
    while descendants() - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert descendants() - before == set()


def test_displays_in_calls_stay_out_of_results_and_later_calls(
    tmp_path: Path, isolation: str
) -> None:
    # Display publishers are made ahead in the kernel and reused by calls that display
    # nothing; a call that displays must neither fail nor leave its output to the next.
    path = write_notebook(
        tmp_path / "display.ipynb",
        "from IPython.display import display",
        ("shout = False", ["parameters"]),
        "if shout:\n    display('LOUD')",
        ("'done'", ["return"]),
    )
    with model_of(path, isolation) as model:
        for shout in (False, True, False, True):
            result = model.call(shout=shout)
            assert result.value == "done"
            assert "LOUD" not in result.stdout


def _socket_dirs() -> set[str]:
    """The private socket directories (``restified-<kind>-<pid ns>-<pid>-*``) of this test:
    those of another living process (a test run beside this one) left out."""
    found = set()
    ours = descendants() | {os.getpid()}
    for path in glob.glob(os.path.join(tempfile.gettempdir(), "restified-*")):
        parts = os.path.basename(path).split("-")
        pid = int(parts[3]) if len(parts) > 4 and parts[3].isdigit() else None
        if pid is not None and pid not in ours and alive(pid):
            continue
        found.add(path)
    return found


def test_a_killed_kernel_leaves_nothing_behind(tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "kill.ipynb", ("n = 1", ["parameters"]), ("n * 2", ["return"]))
    before = descendants()
    sockets = _socket_dirs()
    model = model_of(path)
    try:
        assert model.execute(n=1) == 2
        # The warm kernel is the one with children (forks waiting for calls).
        [warm] = [pid for pid in model.kernel_pids() if descendants(pid)]
        os.kill(warm, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while alive(warm) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert model.execute(n=2) == 4  # a new warm kernel serves the next call
    finally:
        model.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (descendants() - before or _socket_dirs() - sockets):
        time.sleep(0.1)
    assert descendants() - before == set(), "the killed kernel's waiting forks exit too"
    assert _socket_dirs() - sockets == set(), "no fork server socket is left in the temp dir"
