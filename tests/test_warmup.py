"""Declared warm-up (``metadata.restified.warmup``): after setup the warm kernel runs the body
once per entry in a scratch namespace that is discarded. The notebook's globals are as
setup left them; what an imported module keeps at module level is what every call starts
from, once; a warm-up that fails is reported and the notebook serves without it."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from tornado.httpclient import HTTPResponse

from notebook_restified.engine import Engine
from notebook_restified.engine.plan import warm_key
from notebook_restified.openapi import openapi_document
from notebook_restified.spec import NotebookSpec, load_spec

from .notebooks import write_notebook

Fetch = Callable[..., Awaitable[HTTPResponse]]

pytestmark = pytest.mark.timeout(240)

HELPER = "warmhelper_{}"

# The body notes what it finds at its start, then changes a module's list, a global list of
# setup's and defines a name of its own; n == 13 raises, n < 0 sleeps past any time limit.
BODY = """\
import time
found = {
    "helper_calls": list(helper.calls),
    "items": list(items),
    "items_is_setups": id(items) == items_id,
    "body_name_there": "body_defined" in globals(),
}
helper.calls.append(n)
items.append(n)
body_defined = n
if n == 13:
    raise ValueError("unlucky warm-up")
if n < 0:
    time.sleep(60)
"""


def _notebook(root: Path, name: str, warmup: Any) -> dict[str, Any]:
    """A notebook whose setup imports a helper module written into ``root`` (its own, so
    kernels of other tests never share it) and makes a global list."""
    module = HELPER.format(name)
    (root / f"{module}.py").write_text("calls = []\n", encoding="utf-8")
    path = write_notebook(
        root / f"{name}.ipynb",
        f"import sys\nsys.path.insert(0, {str(root)!r})\nimport {module} as helper\n"
        "items = ['setup']\nitems_id = id(items)",
        ("n = 1", ["parameters"]),
        BODY,
        ("found", ["return"]),
    )
    nb = nbformat.read(str(path), as_version=4)
    if warmup is not None:
        nb.metadata["restified"] = {"warmup": warmup}
    nbformat.write(nb, str(path))
    return json.loads(path.read_text("utf-8"))


def _spec(root: Path, name: str, warmup: Any) -> NotebookSpec:
    return load_spec(_notebook(root, name, warmup))


# --------------------------------------------------------------------------------------------
# The metadata, read


def test_warmup_metadata_is_read_and_checked_like_a_call_body(tmp_path: Path) -> None:
    assert _spec(tmp_path, "none", None).warmup == ()
    assert _spec(tmp_path, "off", False).warmup == ()
    on = _spec(tmp_path, "on", True)
    assert on.warmup == ({},)  # the defaults
    assert on.to_json()["warmup"] == [{}]
    assert on.warnings == ()

    listed = _spec(tmp_path, "listed", [{"n": 2}, {"n": "two"}, {"x": 1}, 5, {"n": 3.5}, {}])
    assert listed.warmup == ({"n": 2}, {})
    assert listed.to_json()["warmup"] == [{"n": 2}, {}]
    warnings = "\n".join(listed.warnings)
    assert "warmup[1] is left out" in warnings
    assert "expected an integer" in warnings
    assert "warmup[2] is left out" in warnings
    assert "unknown parameter" in warnings
    assert "warmup[3] is not an object" in warnings
    assert "warmup[4] is left out" in warnings

    odd = _spec(tmp_path, "odd", "yes")
    assert odd.warmup == ()
    assert any("metadata.restified.warmup is 'yes'" in w for w in odd.warnings)


def test_warmup_is_part_of_what_a_warm_kernel_depends_on(tmp_path: Path) -> None:
    plain = _spec(tmp_path, "a", None)
    warmed = _spec(tmp_path, "a", True)
    other = _spec(tmp_path, "a", [{"n": 5}])
    assert len({warm_key(plain), warm_key(warmed), warm_key(other)}) == 3
    # With a warm-up the body is run ahead, so a body change needs a new warm kernel.
    nb = _notebook(tmp_path, "b", True)
    changed = json.loads(json.dumps(nb))
    changed["cells"][2]["source"] += "\nx = 1"
    assert warm_key(load_spec(nb)) != warm_key(load_spec(changed))


def test_each_spec_object_has_its_own_warm_key(tmp_path: Path) -> None:
    # Keys are kept per spec object: a spec collected takes its key with it, so another
    # spec made at the same address later gets its own (each one here is dropped at once).
    nb = _notebook(tmp_path, "c", True)
    keys = []
    for n in range(20):
        changed = json.loads(json.dumps(nb))
        changed["cells"][0]["source"] += f"\nx = {n}"
        keys.append(warm_key(load_spec(changed)))
    assert len(set(keys)) == 20
    again = json.loads(json.dumps(nb))
    again["cells"][0]["source"] += "\nx = 3"
    assert warm_key(load_spec(again)) == keys[3]


def test_openapi_describes_the_warmup(tmp_path: Path) -> None:
    doc = openapi_document(_spec(tmp_path, "w", [{"n": 4}]), "w.ipynb", "http://h/")
    description = doc["paths"]["/restified/w.ipynb"]["get"]["description"]
    assert "Warm-up" in description
    assert '{"n": 4}' in description
    plain = openapi_document(_spec(tmp_path, "p", None), "p.ipynb", "http://h/")
    assert "Warm-up" not in plain["paths"]["/restified/p.ipynb"]["get"]["description"]


# --------------------------------------------------------------------------------------------
# The warm-up, run


@pytest.mark.parametrize("isolation", ["fork", "kernel"])
async def test_warmup_runs_once_and_leaves_the_globals_as_setup_made_them(
    tmp_path: Path, isolation: str
) -> None:
    spec = _spec(tmp_path, f"warm_{isolation}", [{"n": 7}])
    engine = Engine(pool_size=1, isolation=isolation, spare_kernels=0)
    try:
        for n in (1, 2, 3):
            found = (await engine.call("nb", spec, {"n": n}, cwd=str(tmp_path))).value
            # The module's list: the warm-up's one append, then nothing from earlier calls.
            assert found["helper_calls"] == [7]
            # Setup's list: neither the warm-up nor earlier calls appended to it, and it is
            # setup's own object; the name the body defines is not there before it runs.
            assert found["items"] == ["setup"]
            assert found["items_is_setups"] is True
            assert found["body_name_there"] is False
        # The body appends to setup's list: run on setup's own objects, the warm-up was
        # seen to change them, so it was done again in a new kernel on copies of them.
        assert engine.warmup_state("nb", spec) == {"runs": 1, "done": 1, "on": "copies"}
    finally:
        await engine.close()


# A table whose index is built on first use and, as pandas' are, left out when it is
# pickled (or copied): what a warm-up on copies of setup's objects cannot warm.
TABLE_MODULE = """\
class Table:
    def __init__(self, rows):
        self.rows = rows
        self.index = None

    def __getstate__(self):
        return {"rows": self.rows}

    def __setstate__(self, state):
        self.rows = state["rows"]
        self.index = None

    def find(self, value):
        if self.index is None:
            self.index = {row: i for i, row in enumerate(self.rows)}
        return self.index.get(value)
"""


def _table_notebook(root: Path, name: str, warmup: Any) -> NotebookSpec:
    (root / f"{name}_table.py").write_text(TABLE_MODULE, encoding="utf-8")
    path = write_notebook(
        root / f"{name}.ipynb",
        f"import sys\nsys.path.insert(0, {str(root)!r})\nfrom {name}_table import Table\n"
        "table = Table(['a', 'b', 'c'])",
        ("key = 'a'", ["parameters"]),
        (
            "{'index_built_before': table.index is not None, 'at': table.find(key),"
            " 'table_is_setups': table is TABLE}",
            ["return"],
        ),
    )
    nb = nbformat.read(str(path), as_version=4)
    nb.cells[0].source += "\nTABLE = table"
    if warmup is not None:
        nb.metadata["restified"] = {"warmup": warmup}
    nbformat.write(nb, str(path))
    return load_spec(path)


@pytest.mark.parametrize("isolation", ["fork", "kernel"])
async def test_a_warmup_that_leaves_setups_objects_as_they_were_warms_them(
    tmp_path: Path, isolation: str
) -> None:
    # The warm-up only builds the table's index (which pickling leaves out): it ran on
    # setup's own table, so every call finds the index built.
    warmed = _table_notebook(tmp_path, f"warmed_{isolation}", True)
    cold = _table_notebook(tmp_path, f"cold_{isolation}", None)
    engine = Engine(pool_size=1, isolation=isolation, spare_kernels=0)
    try:
        for key in ("b", "c"):
            found = (await engine.call("w", warmed, {"key": key}, cwd=str(tmp_path))).value
            assert found == {
                "index_built_before": True,
                "at": "abc".index(key),
                "table_is_setups": True,
            }
            found = (await engine.call("c", cold, {"key": key}, cwd=str(tmp_path))).value
            assert found["index_built_before"] is False
        assert engine.warmup_state("w", warmed) == {"runs": 1, "done": 1, "on": "setup"}
    finally:
        await engine.close()


async def test_a_warmup_runs_on_copies_when_setups_objects_cannot_be_compared(
    tmp_path: Path,
) -> None:
    # A lock cannot be pickled: nothing would tell whether the warm-up changed it.
    spec = _table_notebook(tmp_path, "locked", True)
    nb = json.loads(Path(tmp_path / "locked.ipynb").read_text("utf-8"))
    nb["cells"][0]["source"] += "\nimport threading\nguard = threading.Lock()"
    spec = load_spec(nb)
    engine = Engine(pool_size=1, spare_kernels=0)
    try:
        found = (await engine.call("l", spec, {"key": "b"}, cwd=str(tmp_path))).value
        assert found["index_built_before"] is False  # warmed on a copy of the table
        assert found["table_is_setups"] is True
        assert engine.warmup_state("l", spec) == {"runs": 1, "done": 1, "on": "copies"}
    finally:
        await engine.close()


async def test_without_warmup_nothing_runs_ahead(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "cold", None)
    engine = Engine(pool_size=1, spare_kernels=0)
    try:
        for n in (1, 2):
            found = (await engine.call("nb", spec, {"n": n}, cwd=str(tmp_path))).value
            assert found["helper_calls"] == []
            assert found["items"] == ["setup"]
        assert engine.warmup_state("nb", spec) is None
    finally:
        await engine.close()


async def test_warmup_with_the_defaults_and_several_entries(tmp_path: Path) -> None:
    engine = Engine(pool_size=1, spare_kernels=0)
    try:
        defaults = _spec(tmp_path, "defaults", True)
        found = (await engine.call("d", defaults, {"n": 5}, cwd=str(tmp_path))).value
        assert found["helper_calls"] == [1]  # the parameters cell's n = 1
        several = _spec(tmp_path, "several", [{"n": 2}, {}, {"n": 4}])
        found = (await engine.call("s", several, {}, cwd=str(tmp_path))).value
        assert found["helper_calls"] == [2, 1, 4]
        assert found["items"] == ["setup"]
    finally:
        await engine.close()


@pytest.mark.parametrize("isolation", ["fork", "kernel"])
async def test_a_failing_warmup_is_reported_and_the_notebook_serves_without_it(
    tmp_path: Path, isolation: str
) -> None:
    # The second entry raises after appending to the module's list: the kernel that ran it
    # is discarded, so no call sees its appends (nor the first entry's).
    spec = _spec(tmp_path, f"fails_{isolation}", [{"n": 2}, {"n": 13}])
    engine = Engine(pool_size=1, isolation=isolation, spare_kernels=0)
    try:
        for n in (1, 2):
            found = (await engine.call("nb", spec, {"n": n}, cwd=str(tmp_path))).value
            assert found["helper_calls"] == []
            assert found["items"] == ["setup"]
        state = engine.warmup_state("nb", spec)
        assert state is not None
        assert state["done"] == 0
        assert state["error"]["type"] == "execution_error"
        assert "unlucky warm-up" in state["error"]["evalue"]
        status = engine.stats()["warm_notebooks"][0]["warmup"]
        assert status["error"]["ename"] == "ValueError"
    finally:
        await engine.close()


async def test_a_warmup_past_the_time_limit_is_reported_and_the_notebook_serves(
    tmp_path: Path,
) -> None:
    spec = _spec(tmp_path, "slow", [{"n": -1}])
    engine = Engine(pool_size=1, time_limit=2.0, spare_kernels=0)
    try:
        found = (await engine.call("nb", spec, {"n": 3}, cwd=str(tmp_path))).value
        assert found["helper_calls"] == []
        state = engine.warmup_state("nb", spec)
        assert state is not None
        assert state["error"]["type"] == "timeout"
    finally:
        await engine.close()


# --------------------------------------------------------------------------------------------
# Through the server: the spec route shows it, and a failure as a warning


async def test_spec_route_shows_the_warmup_and_its_failure(
    jp_fetch: Fetch, jp_root_dir: Path
) -> None:
    _notebook(jp_root_dir, "served", [{"n": 13}])
    spec = json.loads((await jp_fetch("api", "restified", "spec", "served.ipynb")).body)
    assert spec["warmup"] == [{"n": 13}]
    assert spec["warmup_state"] is None  # not warm yet

    response = await jp_fetch("restified", "served.ipynb", params={"n": 4})
    assert json.loads(response.body)["helper_calls"] == []

    spec = json.loads((await jp_fetch("api", "restified", "spec", "served.ipynb")).body)
    assert spec["warmup_state"]["error"]["ename"] == "ValueError"
    assert any("The warm-up failed" in w for w in spec["warnings"])
