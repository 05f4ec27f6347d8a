"""A call recorded only if it fails (``"record": "errors"``, how synchronous calls are
recorded by default): a success carries no record; a failure carries the same per-cell
record a fully traced call would (each cell's own output, its displays, which cell failed);
an output cut at the limit goes with the last cell that ran. An error still names its cell
and its exception when the exception's message or traceback cannot be made."""

from __future__ import annotations

import traceback
from typing import Any

import pytest

from notebook_restified.kernelside import runner
from notebook_restified.kernelside.runner import run_request


def _cell(index: int, source: str, returns: bool = False) -> dict[str, Any]:
    return {"index": index, "id": f"c{index}", "source": source, "return": returns}


CELLS = [
    _cell(0, "print('one')\nimport sys\nprint('warn', file=sys.stderr)"),
    _cell(1, "print('two')\nprint('three')"),
    _cell(2, "print('before')\n1 / divisor", returns=True),
]


def _run(record: Any, divisor: int, output: int = 10_000) -> dict[str, Any]:
    request = {"cells": CELLS, "record": record, "limits": {"output": output}}
    return run_request(request, {"divisor": divisor})


def test_a_success_carries_no_record() -> None:
    reply = _run("errors", 1)
    assert reply["status"] == "ok"
    assert "cells" not in reply
    assert reply["stdout"] == "one\ntwo\nthree\nbefore\n"


def test_a_failure_carries_the_record_a_full_trace_makes() -> None:
    lazy, full = _run("errors", 0), _run(True, 0)
    assert lazy["status"] == full["status"] == "error"
    assert lazy["error"]["ename"] == "ZeroDivisionError"

    def comparable(cells: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [
            (c["position"], c["index"], c["id"], c["ok"], c["stdout"], c["stderr"], c["displays"])
            for c in cells
        ]

    assert comparable(lazy["cells"]) == comparable(full["cells"])
    assert [c["stdout"] for c in lazy["cells"]] == ["one\n", "two\nthree\n", "before\n"]
    assert [c["stderr"] for c in lazy["cells"]] == ["warn\n", "", ""]
    assert [c["ok"] for c in lazy["cells"]] == [True, True, False]
    assert all(c["duration"] >= 0 for c in lazy["cells"])


def test_a_cut_output_goes_with_the_last_cell() -> None:
    reply = _run("errors", 0, output=8)
    cells = reply["cells"]
    assert [c["stdout"] for c in cells[:-1]] == ["", ""]
    assert cells[-1]["stdout"] == reply["stdout"]
    assert "characters cut" in reply["stdout"]


def test_a_result_past_its_limit_is_recorded() -> None:
    request = {
        "cells": [_cell(0, "print('x')"), _cell(1, "'y' * 1000", returns=True)],
        "record": "errors",
        "limits": {"result": 100},
    }
    reply = run_request(request, {})
    assert reply["status"] == "too_large"
    assert [c["ok"] for c in reply["cells"]] == [True, True]
    assert reply["cells"][0]["stdout"] == "x\n"


NO_STR = _cell(
    0,
    "class E(Exception):\n    def __str__(self):\n        raise RuntimeError('no str')\nraise E()",
    returns=True,
)


def test_a_traceback_that_cannot_be_formatted_still_names_the_cell(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fails(*args: Any, **kwargs: Any) -> list[str]:
        raise RuntimeError("cannot format")

    monkeypatch.setattr(traceback, "format_exception", fails)
    error = run_request({"cells": [NO_STR]}, {})["error"]
    assert (error["cell_index"], error["ename"]) == (0, "E")
    assert error["traceback"] == ["E: <exception str() failed>"]


def test_an_encoder_failure_whose_str_raises_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    class Odd(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no str")

    def fails(*args: Any, **kwargs: Any) -> Any:
        raise Odd()

    monkeypatch.setattr(runner, "_encoded", fails)
    reply = run_request({"cells": [_cell(0, "1", returns=True)]}, {})
    assert reply["status"] == "error"
    error = reply["error"]
    assert (error["cell_index"], error["ename"]) == (None, "Odd")
    assert error["evalue"] == "the result could not be encoded: <exception str() failed>"
