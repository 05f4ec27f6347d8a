"""The executed notebook of a run: the notebook as saved, with the ``injected-parameters``
cell after the parameters cell (as papermill writes it) and, for each cell the call ran,
its outputs (stdout, stderr, displays, the return value, the error) and its timing.

Built from the kernel side's per-cell record (``kernelside/trace.py``) when the call
answered, else from the events the run streamed (a run stopped by its time limit or
cancelled still shows what it printed). Valid nbformat 4.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from ..results import CallResult
from ..spec import NotebookSpec
from .model import Run, RunEvent

INJECTED_TAG = "injected-parameters"
_TEXT_PLAIN_LIMIT = 10_000


def cells_from_events(events: Iterable[RunEvent]) -> list[dict[str, Any]]:
    """The per-cell record (as ``kernelside/trace.py`` makes it) rebuilt from a run's
    events: timing from its ``cell`` events, stdout and stderr from its ``output`` events.
    A cell that started but did not finish is included, without a duration."""
    cells: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for event in events:
        data = event.data
        if event.event == "cell" and data.get("state") == "started":
            current = {
                "position": data.get("position"),
                "index": data.get("index"),
                "id": data.get("id"),
                "started": data.get("at", 0.0),
                "duration": None,
                "ok": None,
                "stdout": "",
                "stderr": "",
                "displays": [],
            }
            cells.append(current)
        elif event.event == "cell" and data.get("state") == "finished" and current is not None:
            current["duration"] = data.get("seconds")
            current["ok"] = data.get("ok")
            current = None
        elif event.event == "output" and cells:
            target = current if current is not None else cells[-1]
            stream = "stderr" if data.get("stream") == "stderr" else "stdout"
            target[stream] += str(data.get("text", ""))
    return cells


def _result_data(result: CallResult) -> dict[str, Any]:
    if result.kind == "image" and result.png is not None:
        import base64

        return {"image/png": base64.b64encode(result.png).decode("ascii"), "text/plain": "<image>"}
    text = result.value if result.is_repr else json.dumps(result.value, indent=1)
    data: dict[str, Any] = {"text/plain": str(text)[:_TEXT_PLAIN_LIMIT]}
    if not result.is_repr:
        data["application/json"] = result.value
    if result.kind == "table" and result.csv is not None:
        data["text/csv"] = result.csv
    return data


def _at(start: datetime | None, offset: float | None) -> str | None:
    if start is None or offset is None:
        return None
    return (start + timedelta(seconds=offset)).isoformat(timespec="milliseconds")


def _clean(cell: Mapping[str, Any]) -> dict[str, Any]:
    """A saved cell without what an earlier run left in it."""
    fresh = copy.deepcopy(dict(cell))
    fresh.setdefault("metadata", {})
    if fresh.get("cell_type") == "code":
        fresh["outputs"] = []
        fresh["execution_count"] = None
        fresh["metadata"].pop("execution", None)
    return fresh


def _tags(cell: Mapping[str, Any]) -> list[str]:
    tags = cell.get("metadata", {}).get("tags", [])
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def build_executed_notebook(
    content: Mapping[str, Any],
    spec: NotebookSpec,
    run: Run,
    *,
    injected_source: str | None,
    cells: Sequence[Mapping[str, Any]] | None,
    result: CallResult | None,
    error: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The executed notebook of ``run`` (a plain dict, nbformat 4).

    ``content``: the notebook as saved when the run was made; ``injected_source``: the
    injected parameters cell's source (None: no values were given); ``cells``: the
    per-cell record; ``result``: the call's result if it succeeded; ``error``: the
    contract's error object if it failed.
    """
    with_ids = (content.get("nbformat", 4), content.get("nbformat_minor", 0)) >= (4, 5)
    start = datetime.fromisoformat(run.started) if run.started else None
    ran = {
        ("injected" if record.get("index") is None else record["index"]): record
        for record in cells or ()
    }
    statuses = dict.fromkeys(spec.setup_cells, "setup (run ahead of calls, in the warm kernel)")
    if spec.parameters_cell is not None:
        statuses[spec.parameters_cell] = "parameters (run ahead of calls, in the warm kernel)"
    statuses.update(dict.fromkeys(spec.skip_cells, "skipped (tagged skip)"))

    out_cells: list[dict[str, Any]] = []
    taken_ids: set[str] = set()
    injected: dict[str, Any] | None = None
    if injected_source is not None:
        injected = {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {"tags": [INJECTED_TAG]},
            "outputs": [],
            "source": injected_source,
        }
    for index, saved in enumerate(content.get("cells", [])):
        if INJECTED_TAG in _tags(saved):
            continue  # a saved one is replaced by this run's, as papermill does
        cell = _clean(saved)
        if cell.get("cell_type") == "code":
            status = statuses.get(index, "not run")
            cell["metadata"]["restified"] = {"status": status}
            record = ran.get(index)
            if record is not None:
                _fill(cell, record, start, result, error, is_return=index == spec.return_cell)
        out_cells.append(cell)
        if "id" in cell:
            taken_ids.add(str(cell["id"]))
        if injected is not None and index == spec.parameters_cell:
            out_cells.append(injected)
    if injected is not None:
        if not any(c is injected for c in out_cells):
            out_cells.insert(0, injected)
        injected["metadata"]["restified"] = {"status": "not run"}
        record = ran.get("injected")
        if record is not None:
            _fill(injected, record, start, None, error, is_return=False)
        if with_ids:
            new_id, n = INJECTED_TAG, 1
            while new_id in taken_ids:
                n += 1
                new_id = f"{INJECTED_TAG}-{n}"
            injected["id"] = new_id

    metadata = copy.deepcopy(dict(content.get("metadata", {})))
    metadata["restified_run"] = {
        "id": run.id,
        "path": run.path,
        "status": run.status,
        "parameters": run.parameters,
        "notebook_sha256": run.notebook_sha256,
        "created": run.created,
        "started": run.started,
        "finished": run.finished,
        "duration": run.duration,
    }
    return {
        "cells": out_cells,
        "metadata": metadata,
        "nbformat": 4,
        "nbformat_minor": content.get("nbformat_minor", 5),
    }


def _fill(
    cell: dict[str, Any],
    record: Mapping[str, Any],
    start: datetime | None,
    result: CallResult | None,
    error: Mapping[str, Any] | None,
    *,
    is_return: bool,
) -> None:
    """A cell that ran: its outputs, execution count and timing from ``record``."""
    count = int(record.get("position") or 0) + 1
    cell["execution_count"] = count
    outputs: list[dict[str, Any]] = []
    for stream in ("stdout", "stderr"):
        text = record.get(stream)
        if text:
            outputs.append({"output_type": "stream", "name": stream, "text": str(text)})
    for display in record.get("displays") or ():
        outputs.append(dict(display))
    failed = record.get("ok") is False
    if is_return and result is not None and result.has_value and not failed:
        outputs.append(
            {
                "output_type": "execute_result",
                "execution_count": count,
                "data": _result_data(result),
                "metadata": {},
            }
        )
    if failed and error is not None:
        outputs.append(
            {
                "output_type": "error",
                "ename": str(error.get("ename", "")),
                "evalue": str(error.get("evalue", "")),
                "traceback": [str(line) for line in error.get("traceback", [])],
            }
        )
    cell["outputs"] = outputs
    started, duration = record.get("started"), record.get("duration")
    timing = {"iopub.execute_input": _at(start, started)}
    if duration is not None and started is not None:
        timing["shell.execute_reply"] = _at(start, started + duration)
    cell["metadata"]["execution"] = {k: v for k, v in timing.items() if v is not None}
    cell["metadata"]["restified"] = {
        "status": "error" if failed else "ok" if record.get("ok") else "interrupted",
        "duration": duration,
    }
