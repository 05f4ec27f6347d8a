"""``jupyter restified run|spec`` as a user runs it: real processes, real kernels.

The command lines that start a kernel run as real processes, started once, up front and a few
at a time (each pays for a Python start-up and a kernel); each test then checks one of them.
Errors found before any kernel starts are checked by calling ``main()`` (what the
``jupyter-restified`` entry point runs) in this process: its return value is the exit code.
"""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from notebook_restified import values
from notebook_restified.cli import main
from notebook_restified.parameter_types import ValueType

from .notebooks import write_notebook

EXAMPLES = Path(__file__).parent.parent / "examples"
CLI = [sys.executable, "-m", "notebook_restified.cli"]
JUPYTER = str(Path(sys.executable).parent / "jupyter")
HOSTILE = "__import__('os').system('touch PWNED')"

pytestmark = pytest.mark.timeout(240)

# name -> command line, run in the module's work directory (the notebooks are copied there)
COMMANDS: dict[str, list[str]] = {
    "entry_point": [JUPYTER, "restified", "run", "fibonacci.ipynb", "-p", "n", "12"],
    "typed": [
        *CLI,
        "run",
        "typed.ipynb",
        "--params-json",
        '{"label": "from json"}',
        "-p",
        "count",
        "7",
        "-p",
        "ratio",
        "2.5",
        "-p",
        "flag",
        "yes",
        "-p",
        "items",
        '[1, "a", null]',
    ],
    "execution_error": [*CLI, "run", "error_path.ipynb", "-p", "divisor", "0"],
    "image": [*CLI, "run", "matplotlib_plot.ipynb", "-p", "points", "10", "--output", "plot.png"],
    "file": [
        *CLI,
        "run",
        "parameter_types.ipynb",
        "-f",
        "data",
        "upload.bin",
        "-p",
        "start",
        "2024-03-01",
        "-p",
        "size",
        "[2, 5]",
    ],
}


class Runs:
    """The module's command lines, running in the background in ``cwd``."""

    def __init__(self, cwd: Path, pool: ThreadPoolExecutor) -> None:
        self.cwd = cwd
        self._futures: dict[str, Future[subprocess.CompletedProcess[str]]] = {
            name: pool.submit(self._run, argv) for name, argv in COMMANDS.items()
        }

    def _run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, cwd=self.cwd, capture_output=True, text=True, timeout=180, check=False
        )

    def __getitem__(self, name: str) -> subprocess.CompletedProcess[str]:
        return self._futures[name].result()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    work = tmp_path_factory.mktemp("cli")
    for name in ("fibonacci", "text_repeat", "error_path", "matplotlib_plot", "parameter_types"):
        shutil.copy(EXAMPLES / f"{name}.ipynb", work)
    (work / "upload.bin").write_bytes(b"\x00\x01 file bytes")
    write_notebook(
        work / "typed.ipynb",
        (
            "count: int = 1\n"
            "ratio: float = 0.5\n"
            "flag: bool = False\n"
            "items: list = []\n"
            "label: str = 'x'",
            ["parameters"],
        ),
        (
            "values = [count, ratio, flag, items, label]\n"
            "{'values': values, 'types': [type(v).__name__ for v in values]}",
            ["return"],
        ),
    )
    with ThreadPoolExecutor(max_workers=4) as pool:
        yield Runs(work, pool)


def error_of(returncode: int, stdout: str, stderr: str) -> dict[str, Any]:
    """The ``{"error": {...}}`` JSON a failed command printed on stderr (its last line)."""
    assert returncode == 1, stderr
    assert stdout == ""
    body = json.loads(stderr.strip().splitlines()[-1])
    assert set(body) == {"error"}
    return body["error"]  # type: ignore[no-any-return]


def main_error(
    runs: Runs, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *argv: str
) -> dict[str, Any]:
    """Run ``main(argv)`` in the work directory; the error JSON it printed."""
    monkeypatch.chdir(runs.cwd)
    code = main(list(argv))
    out, err = capsys.readouterr()
    return error_of(code, out, err)


# --- real processes ---------------------------------------------------------------------


def test_jupyter_restified_prints_the_result_as_json(runs: Runs) -> None:
    proc = runs["entry_point"]
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "144\n"
    assert proc.stderr == ""


def test_text_and_json_values_are_coerced_to_declared_types(runs: Runs) -> None:
    proc = runs["typed"]
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {
        # label: from --params-json, the others from -p
        "values": [7, 2.5, True, [1, "a", None], "from json"],
        "types": ["int", "float", "bool", "list", "str"],
    }


def test_a_file_is_a_bytes_parameter(runs: Runs) -> None:
    proc = runs["file"]
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["data"] == {"bytes": 13, "head": b"\x00\x01 file bytes".hex()}
    assert result["first_weekday"] == "Friday"
    assert result["area"] == 10


@pytest.mark.parametrize(
    ("argv", "name", "words"),
    [
        (["-p", "n", "1", "-p", "n", "2"], "n", "given more than once"),
        (["--params-json", '{"n": 1}', "-p", "n", "2"], "n", "given more than once"),
        (["-f", "n", "fibonacci.ipynb"], "n", "a file was sent, but this parameter is not bytes"),
    ],
)
def test_a_parameter_given_twice_or_a_file_for_text_is_refused(
    runs: Runs,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    name: str,
    words: str,
) -> None:
    error = main_error(runs, capsys, monkeypatch, "run", "fibonacci.ipynb", *argv)
    assert error["type"] == "invalid_parameters"
    assert error["details"] == [{"name": name, "problem": words}]


def test_an_unreadable_file_is_a_clear_error(
    runs: Runs, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    error = main_error(
        runs, capsys, monkeypatch, "run", "parameter_types.ipynb", "-f", "data", "missing.bin"
    )
    assert error["type"] == "invalid_request"
    assert "-f data: cannot read missing.bin" in error["message"]


def test_execution_error_is_json_on_stderr_with_exit_1(runs: Runs) -> None:
    proc = runs["execution_error"]
    error = error_of(proc.returncode, proc.stdout, proc.stderr)
    assert error["type"] == "execution_error"
    assert error["cell_index"] == 4
    assert error["cell_id"] == "divide"
    assert error["ename"] == "ValueError"
    assert error["evalue"].startswith("divisor must not be 0")
    assert any("<cell 2>" in line for line in error["traceback"])


def test_image_result_written_with_output(runs: Runs) -> None:
    proc = runs["image"]
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    png = (runs.cwd / "plot.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


# --- refused before any kernel starts: main() in this process ----------------------------


def test_invalid_parameters_list_each_problem(
    runs: Runs, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    error = main_error(
        runs, capsys, monkeypatch, "run", "fibonacci.ipynb", "-p", "n", "ten", "-p", "m", "3"
    )
    assert error["type"] == "invalid_parameters"
    problems = {d["name"]: d["problem"] for d in error["details"]}
    assert set(problems) == {"n", "m"}
    assert "expected an integer" in problems["n"]
    assert "unknown parameter" in problems["m"]


def test_missing_notebook(
    runs: Runs, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for command in ("run", "spec"):
        error = main_error(runs, capsys, monkeypatch, command, "no_such.ipynb")
        assert error["type"] == "not_found"
        assert "no_such.ipynb" in error["message"]


@pytest.mark.parametrize("text", ["{n: 1", "[1]", "10"])
def test_params_json_must_be_a_json_object(
    runs: Runs, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    error = main_error(runs, capsys, monkeypatch, "run", "fibonacci.ipynb", "--params-json", text)
    assert error["type"] == "invalid_request"
    assert "--params-json" in error["message"]


@pytest.mark.parametrize("option", ["-p", "--params-json"])
def test_hostile_parameter_name_never_runs(
    runs: Runs, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, option: str
) -> None:
    given = ["-p", HOSTILE, "1"] if option == "-p" else ["--params-json", json.dumps({HOSTILE: 1})]
    error = main_error(runs, capsys, monkeypatch, "run", "fibonacci.ipynb", *given)
    assert error["type"] == "invalid_parameters"
    assert [d["name"] for d in error["details"]] == [HOSTILE]
    assert not (runs.cwd / "PWNED").exists()
    assert not (EXAMPLES / "PWNED").exists()


def test_each_value_is_checked_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``run`` checks each value once (``-p``, ``--params-json`` and ``-f`` alike), then
    hands the checked values to the kernel: never a second check on the way."""
    notebook = write_notebook(
        tmp_path / "checked.ipynb",
        "import datetime",
        (
            "n: int = 1\n"
            "word: str = 'x'\n"
            "when: datetime.date = datetime.date(2024, 1, 1)\n"
            "blob: bytes = b''",
            ["parameters"],
        ),
        ("{'n': n, 'word': word, 'when': repr(when), 'blob': blob.hex()}", ["return"]),
    )
    (tmp_path / "blob.bin").write_bytes(b"\x00xyzzy")
    given = {  # each value as it is given, and as the check makes it
        "n": (7,),
        "word": ("plugh",),
        "when": ("2024-03-05", datetime.date(2024, 3, 5)),
        "blob": (b"\x00xyzzy",),
    }
    checks: Counter[str] = Counter()
    original = values.check_value

    def counted(value_type: ValueType, value: Any, depth: int = 0) -> Any:
        for name, forms in given.items():
            if depth == 0 and any(type(value) is type(f) and value == f for f in forms):
                checks[name] += 1
        return original(value_type, value, depth)

    # Wherever the checking function was imported, the counting one stands in.
    for module in list(sys.modules.values()):
        if module.__name__.startswith("notebook_restified") and (
            getattr(module, "check_value", None) is original
        ):
            monkeypatch.setattr(module, "check_value", counted)
    argv = ["run", str(notebook), "-p", "n", "7", "-p", "when", "2024-03-05"]
    argv += ["--params-json", '{"word": "plugh"}', "-f", "blob", str(tmp_path / "blob.bin")]
    assert main(argv) == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out) == {
        "n": 7,
        "word": "plugh",
        "when": "datetime.date(2024, 3, 5)",
        "blob": "0078797a7a79",
    }
    assert checks == dict.fromkeys(given, 1)


def test_spec_prints_the_spec(
    runs: Runs, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(runs.cwd)
    assert main(["spec", "text_repeat.ipynb"]) == 0
    spec = json.loads(capsys.readouterr().out)
    assert [{k: p[k] for k in ("name", "type", "default", "help")} for p in spec["parameters"]] == [
        {"name": "text", "type": "str", "default": "hello", "help": "what to repeat"},
        {
            "name": "multiplier",
            "type": "int",
            "default": 2,
            "help": 'how many times to repeat it (0 or less gives "")',
        },
    ]
    assert spec["parameters"][1]["schema"]["type"] == "integer"
    assert spec["return_cell"] == 4
    assert spec["skip_cells"] == [3]
    assert spec["kernel"] == {"name": "python3", "language": "python"}


def test_help_all_lists_every_server_option(capsys: pytest.CaptureFixture[str]) -> None:
    from notebook_restified.server.app import RestifiedApp

    with pytest.raises(SystemExit) as exited:
        main(["--help-all"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "usage: jupyter restified" in out
    for name in RestifiedApp.class_own_traits(config=True):
        assert f"--RestifiedApp.{name}=" in out
    assert "Seconds one call may run" in out  # time_limit's help, not only its name
    assert "--RestifiedApp.answer_yes" not in out  # the base application's own options stay out
