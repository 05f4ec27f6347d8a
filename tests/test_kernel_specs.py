"""The endpoint's kernels are the server's: its kernel specs, and only those it allows."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPResponse

from notebook_restified.server.app import RestifiedApp

from .notebooks import write_notebook

Fetch = Callable[..., Awaitable[HTTPResponse]]

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **jp_server_config,  # conftest's: the extension enabled
        "KernelSpecManager": {"allowed_kernelspecs": ["python3"]},
    }


@pytest.fixture
def notebooks(jp_root_dir: Path, jp_data_dir: Path) -> Path:
    # A working kernel spec the server does not allow.
    spec = jp_data_dir / "kernels" / "other"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "Other", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    for name, kernel_name in (("allowed.ipynb", "python3"), ("refused.ipynb", "other")):
        write_notebook(
            jp_root_dir / name, ("n = 1", ["parameters"]), ("n + 1", ["return"]), kernel=kernel_name
        )
    return jp_root_dir


async def test_a_kernel_the_server_does_not_allow_never_starts(
    jp_fetch: Fetch, notebooks: Path, app: RestifiedApp
) -> None:
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("restified", "refused.ipynb")
    assert err.value.code == 502
    assert err.value.response is not None
    error = json.loads(err.value.response.body)["error"]
    assert error == {
        "type": "kernel_died",
        "message": "kernel 'other' did not start: no such kernel is available here",
    }
    assert app.engine.kernel_pids() == []  # nothing started for it (nor a spare)

    spec = json.loads((await jp_fetch("api", "restified", "spec", "refused.ipynb")).body)
    assert any("'other' is not available" in warning for warning in spec["warnings"])

    assert json.loads((await jp_fetch("restified", "allowed.ipynb", params={"n": 2})).body) == 3
