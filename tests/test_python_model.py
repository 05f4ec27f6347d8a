"""PythonModel: the same function semantics as KernelModel, run in the calling process."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbclient
import nbformat
import pytest

from notebook_restified import KernelModel, PythonModel
from notebook_restified.errors import CallTimeout, ExecutionError, InvalidParameters

from .notebooks import write_notebook

EXAMPLES = Path(__file__).parent.parent / "examples"

pytestmark = pytest.mark.timeout(120)

ModelOf = Callable[[str], KernelModel]


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("fibonacci.ipynb", {}),
        ("fibonacci.ipynb", {"n": 30}),
        ("text_repeat.ipynb", {}),
        ("text_repeat.ipynb", {"text": "é-", "multiplier": 4}),
    ],
)
def test_same_results_as_kernel_model(
    kernel_model_of: ModelOf, name: str, values: dict[str, Any]
) -> None:
    in_process = PythonModel(EXAMPLES / name).call(values)
    isolated = kernel_model_of(name).call(values)
    assert in_process.value == isolated.value
    assert type(in_process.value) is type(isolated.value)
    assert (in_process.kind, in_process.has_value) == (isolated.kind, isolated.has_value)


def test_each_call_gets_a_fresh_namespace(tmp_path: Path) -> None:
    path = write_notebook(
        tmp_path / "fresh.ipynb",
        "items = []",
        ("tag = 'x'", ["parameters"]),
        "items.append(tag)",
        (
            "seen = {'items': list(items), 'leak': globals().get('leak')}\nleak = tag\nseen",
            ["return"],
        ),
    )
    model = PythonModel(path)
    for tag in ("a", "b", "c"):
        assert model.execute(tag=tag) == {"items": [tag], "leak": None}


def test_globals_seed_the_namespace_and_stay_untouched(tmp_path: Path) -> None:
    path = write_notebook(
        tmp_path / "seeded.ipynb",
        ("n = 1", ["parameters"]),
        ("value = offset + n\noffset = 0\nadded = True\nvalue", ["return"]),
    )
    seed = {"offset": 100}
    model = PythonModel(path, globals=seed)
    assert model.execute(n=1) == 101
    assert model.execute(n=2) == 102  # the call's `offset = 0` did not stick
    assert seed == {"offset": 100}


def test_output_is_captured_into_the_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_notebook(
        tmp_path / "prints.ipynb",
        ("n = 1", ["parameters"]),
        ("import sys\nprint('hello from the model')\nsys.stderr.write('warned\\n')\nn", ["return"]),
    )
    result = PythonModel(path).call()
    assert result.value == 1
    assert "hello from the model" in result.stdout
    assert "warned" in result.stderr
    assert capsys.readouterr() == ("", "")


def test_magics_work_inside_a_kernel(tmp_path: Path) -> None:
    write_notebook(
        tmp_path / "magics.ipynb",
        ("n = 2", ["parameters"]),
        "lines = !echo hello",
        ("%time squared = n * n\n{'squared': squared, 'shell': lines[0]}", ["return"]),
    )
    view = write_notebook(
        tmp_path / "view.ipynb",
        "import json\n"
        "from notebook_restified import PythonModel\n"
        "result = PythonModel('magics.ipynb').call(n=3)\n"
        "print(json.dumps({'shell': get_ipython() is not None, 'value': result.value,\n"
        "                  'timed': 'Wall time' in result.stdout}))",
    )
    nb = nbformat.read(view, as_version=4)
    nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=60,
        shutdown_kernel="immediate",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    outputs = nb.cells[0].outputs
    assert [o.output_type for o in outputs] == ["stream"]
    assert json.loads(outputs[0].text) == {
        "shell": True,
        "value": {"squared": 9, "shell": "hello"},
        "timed": True,
    }


def test_execution_error_has_the_kernel_model_shape(kernel_model_of: ModelOf) -> None:
    with pytest.raises(ExecutionError) as in_process:
        PythonModel(EXAMPLES / "error_path.ipynb").execute(divisor=0)
    with pytest.raises(ExecutionError) as isolated:
        kernel_model_of("error_path.ipynb").execute(divisor=0)
    mine, theirs = in_process.value, isolated.value
    assert mine.cell_index == theirs.cell_index == 4
    assert mine.cell_id == theirs.cell_id == "divide"
    assert mine.ename == theirs.ename == "ValueError"
    assert mine.evalue == theirs.evalue
    assert mine.traceback == theirs.traceback
    assert mine.traceback[0] == "Traceback (most recent call last):"
    assert not any("\x1b[" in line for line in mine.traceback)
    assert mine.to_json()["error"]["type"] == "execution_error"


def test_invalid_parameters_are_refused_before_running(tmp_path: Path) -> None:
    path = write_notebook(
        tmp_path / "typed.ipynb",
        ("n: int = 1  # a count\nratio: float = 0.5", ["parameters"]),
        ("raise RuntimeError('must not run')", ["return"]),
    )
    model = PythonModel(path)
    with pytest.raises(InvalidParameters) as err:
        model.execute({"m": 3, "n": "ten", "ratio": True})
    problems = {d["name"]: d["problem"] for d in err.value.details}
    assert set(problems) == {"m", "n", "ratio"}
    assert "unknown parameter" in problems["m"]
    assert "expected an integer" in problems["n"]
    with pytest.raises(InvalidParameters):
        model.execute(n=1.5)


def test_time_limit_stops_an_endless_loop(tmp_path: Path) -> None:
    path = write_notebook(
        tmp_path / "loop.ipynb",
        ("spin = False", ["parameters"]),
        ("while spin:\n    pass\n'done'", ["return"]),
    )
    model = PythonModel(path, time_limit=1.0)
    assert model.execute() == "done"
    started = time.monotonic()
    with pytest.raises(CallTimeout) as err:
        model.execute(spin=True)
    assert time.monotonic() - started < 5
    assert err.value.time_limit == 1.0
    with pytest.raises(CallTimeout) as per_call:
        PythonModel(path).execute(spin=True, time_limit=0.3)
    assert per_call.value.time_limit == 0.3
    assert model.execute() == "done"  # no alarm is left armed


def test_a_saved_change_is_seen_by_the_next_call(tmp_path: Path) -> None:
    path = tmp_path / "edit.ipynb"
    write_notebook(path, "base = 1", ("n = 1", ["parameters"]), ("base + n", ["return"]))
    model = PythonModel(path)
    assert model.execute(n=1) == 2
    write_notebook(path, "base = 100", ("n = 1", ["parameters"]), ("base * n", ["return"]))
    assert model.execute(n=3) == 300
    write_notebook(
        path, "base = 100", ("n = 1\nm = 2", ["parameters"]), ("base - n - m", ["return"])
    )
    assert [p.name for p in model.spec.parameters] == ["n", "m"]
    assert model.execute(n=3, m=7) == 90
