"""The kernel-side package is a program of its own: standard library only, nothing from the
server side, and installable in a bare Python from the bootstrap the engine sends."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from notebook_restified import kernelside
from notebook_restified.engine.client import module_ref, runtime_bootstrap

FOLDER = Path(kernelside.__file__).parent


def test_every_module_is_shipped() -> None:
    on_disk = {path.stem for path in FOLDER.glob("*.py")} - {"__init__"}
    assert on_disk == set(kernelside.MODULES)


# Inside a function, the kernel's own IPython may be used where it runs (never at import).
LAZY_ALLOWED = {"IPython"}


@pytest.mark.parametrize("name", kernelside.MODULES)
def test_module_imports_only_the_standard_library_and_its_own_package(name: str) -> None:
    tree = ast.parse((FOLDER / f"{name}.py").read_text(encoding="utf-8"))
    shipped_before = set(kernelside.MODULES[: kernelside.MODULES.index(name)])
    top_level = set(map(id, tree.body))
    for node in ast.walk(tree):
        allowed = set(sys.stdlib_module_names) | {"__future__"}
        if id(node) not in top_level:
            allowed |= LAZY_ALLOWED
        if isinstance(node, ast.Import):
            for alias in node.names:
                assert alias.name.split(".")[0] in allowed, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            assert (node.module or "").split(".")[0] in allowed, node.module
        elif isinstance(node, ast.ImportFrom):
            # A sibling, loaded before this module in a kernel (MODULES is in load order).
            assert node.level == 1
            assert node.module in shipped_before, f"{name} imports .{node.module} too early"


BOOT = """
import json, sys
exec(compile(sys.argv[1], "<boot>", "exec"), {})
runner = eval(sys.argv[2])
cells = [
    {"index": 0, "id": "a", "source": "x = 20", "return": False},
    {"index": 1, "id": "b", "source": "print('hi')\\n{'v': x + 1}", "return": True},
]
reply = runner.run_request({"cells": cells}, {"__name__": "__main__"})
heavy = sorted(n for n in ("notebook_restified", "tornado", "jupyter_client") if n in sys.modules)
print(json.dumps({"reply": reply, "heavy": heavy, "names": sorted(sys.modules[runner.__package__].__dict__)}))
"""


def test_bootstrap_installs_the_runtime_in_a_bare_python() -> None:
    completed = subprocess.run(
        [sys.executable, "-I", "-c", BOOT, runtime_bootstrap(), module_ref("runner")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    report = json.loads(completed.stdout)
    reply = report["reply"]
    assert reply["status"] == "ok"
    assert reply["result"]["json"] == {"v": 21}
    assert reply["stdout"] == "hi\n"
    assert report["heavy"] == []
    assert set(kernelside.MODULES) <= set(report["names"])
