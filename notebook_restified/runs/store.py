"""Run records on disk: one directory per run under the server's data directory
(``notebook_restified/runs-<hash of the root directory>/<id>/``: one server's root's runs
only) holding ``run.json`` (the run object), and once it is
over ``notebook.ipynb`` (the executed notebook), ``result.json`` (its result) and
``events.json`` (its event log). Every file is written atomically (a temporary file, then a
rename) with mode 0600: records hold parameters and outputs.

At start, runs that were queued or running when the server stopped are recorded as
``failed`` (``interrupted``). Past ``max_records`` runs of one notebook, the oldest
finished ones are removed.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..results import CallResult
from .model import Run, RunEvent, is_run_id, now_iso

log = logging.getLogger(__name__)

#: The error of a run the server stopped (or lost) before it ended.
INTERRUPTED = {
    "type": "interrupted",
    "message": "the server stopped while the run was in flight; it did not finish",
}


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8")


class RunStore:
    """The run records kept under ``directory``, indexed in memory by id."""

    def __init__(self, directory: str | os.PathLike[str], max_records: int = 100) -> None:
        self.directory = Path(directory)
        self.max_records = max(1, max_records)
        self.runs: dict[str, Run] = {}

    def load(self) -> list[Run]:
        """Read every record; those left in flight by a stopped server become ``failed``
        (``interrupted``). Returns the runs so recovered."""
        recovered: list[Run] = []
        if not self.directory.is_dir():
            return recovered
        for entry in self.directory.iterdir():
            if not is_run_id(entry.name):
                continue
            try:
                run = Run.from_json(json.loads((entry / "run.json").read_text("utf-8")))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("run record %s is unreadable (%s): removed", entry.name, exc)
                shutil.rmtree(entry, ignore_errors=True)
                continue
            if not run.done:
                run.status = "failed"
                run.error = dict(INTERRUPTED)
                run.finished = run.finished or now_iso()
                self.save(run)
                recovered.append(run)
            self.runs[run.id] = run
        if recovered:
            log.info(
                "%d runs in flight when the server stopped are recorded as failed", len(recovered)
            )
        return recovered

    def _dir(self, run_id: str) -> Path:
        if not is_run_id(run_id):
            raise ValueError(f"not a run id: {run_id!r}")
        return self.directory / run_id

    def save(self, run: Run) -> None:
        """Write the run object."""
        self.runs[run.id] = run
        _write_atomic(self._dir(run.id) / "run.json", _json_bytes(run.to_json()))

    def save_outcome(
        self,
        run: Run,
        notebook: dict[str, Any] | None,
        result: CallResult | None,
        events: list[RunEvent] | None,
    ) -> None:
        """Write what a finished run leaves: the executed notebook, the result, the event
        log, then the run object (last: a record is complete once it says it is over)."""
        folder = self._dir(run.id)
        if notebook is not None:
            _write_atomic(folder / "notebook.ipynb", _json_bytes(notebook))
        if result is not None:
            stored = {
                "kind": result.kind,
                "value": result.value,
                "png": base64.b64encode(result.png).decode("ascii") if result.png else None,
                "csv": result.csv,
                "is_repr": result.is_repr,
                "has_value": result.has_value,
                "duration": result.duration,
            }
            _write_atomic(folder / "result.json", _json_bytes(stored))
        if events is not None:
            _write_atomic(folder / "events.json", _json_bytes([e.to_json() for e in events]))
        self.save(run)
        self.prune(run.path)

    def get(self, run_id: str) -> Run | None:
        """The run with this id, if it is kept."""
        return self.runs.get(run_id)

    def find(self, path: str | None = None, key_id: str | None = None) -> list[Run]:
        """Runs (of notebook ``path``, of key ``key_id``, if given), newest first."""
        found = [
            run
            for run in self.runs.values()
            if (path is None or run.path == path) and (key_id is None or run.key_id == key_id)
        ]
        return sorted(found, key=lambda run: run.created, reverse=True)

    def notebook(self, run_id: str) -> bytes | None:
        """The executed notebook's JSON, if it was kept."""
        with contextlib.suppress(OSError, ValueError):
            return (self._dir(run_id) / "notebook.ipynb").read_bytes()
        return None

    def result(self, run_id: str) -> CallResult | None:
        """The result of a run that succeeded, if it was kept."""
        try:
            stored = json.loads((self._dir(run_id) / "result.json").read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return CallResult(
            value=stored.get("value"),
            kind=str(stored.get("kind", "json")),
            png=base64.b64decode(stored["png"]) if stored.get("png") else None,
            csv=stored.get("csv"),
            is_repr=bool(stored.get("is_repr")),
            has_value=bool(stored.get("has_value", True)),
            duration=float(stored.get("duration") or 0.0),
        )

    def events(self, run_id: str) -> list[RunEvent]:
        """The event log of a finished run (empty if none was kept)."""
        try:
            stored = json.loads((self._dir(run_id) / "events.json").read_text("utf-8"))
        except (OSError, ValueError):
            return []
        return [RunEvent(int(e["id"]), str(e["event"]), dict(e["data"])) for e in stored]

    def remove(self, run_id: str) -> None:
        """Forget a run and remove its files."""
        self.runs.pop(run_id, None)
        with contextlib.suppress(ValueError):
            shutil.rmtree(self._dir(run_id), ignore_errors=True)

    def prune(self, path: str) -> None:
        """Remove the oldest finished runs of ``path`` past ``max_records``."""
        finished = [run for run in self.find(path) if run.done]
        for run in finished[self.max_records :]:
            self.remove(run.id)
