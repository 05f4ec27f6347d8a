"""Property-based tests of a live endpoint from its own OpenAPI document (schemathesis).

Valid inputs (generated from the document) must give 200 with a body the document allows;
invalid ones a documented 4xx error, never a server fault. The server runs as its own
`jupyter server` process, as in production.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import negative_data_rejection

from .notebooks import write_echo, write_notebook
from .test_parameter_kinds import DECLARATIONS, PARAMETERS, RESULT, SHOWN

pytestmark = pytest.mark.timeout(300)

TOKEN = "schemathesis-test-token"
EXAMPLES = Path(__file__).parent.parent / "examples"
HEADERS = {"Authorization": f"token {TOKEN}"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("root")
    write_echo(root / "echo.ipynb", "count: int = 1  # how many")
    shutil.copy(EXAMPLES / "parameter_types.ipynb", root / "example_kinds.ipynb")
    # Every parameter type at once, Annotated bounds included.
    write_notebook(
        root / "kinds.ipynb",
        PARAMETERS + SHOWN + f"MARKER = {str(root.parent / 'ran')!r}",
        (DECLARATIONS, ["parameters"]),
        (RESULT, ["return"]),
    )
    port = _free_port()
    log = (root.parent / "server.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "server",
            f"--port={port}",
            "--ip=127.0.0.1",
            f"--IdentityProvider.token={TOKEN}",
            "--ServerApp.allow_root=True",
            "--ServerApp.open_browser=False",
            f"--ServerApp.root_dir={root}",
            "--RestifiedApp.pool_size=2",
            "--RestifiedApp.queue_size=64",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "JUPYTER_PLATFORM_DIRS": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/api/status", headers=HEADERS, timeout=2).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.3)
        else:
            pytest.fail("the jupyter server did not start")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(scope="module", params=["echo.ipynb", "kinds.ipynb", "example_kinds.ipynb"])
def operations(base_url: str, request: pytest.FixtureRequest) -> list[Any]:
    document = requests.get(
        f"{base_url}/api/restified/openapi/{request.param}", headers=HEADERS, timeout=30
    ).json()
    # Urlencoded bodies of nested values have no one serialisation (schemathesis writes dicts
    # as `a[b]=`); test_endpoint covers them. Fuzzed here: query strings, JSON bodies, and
    # multipart forms (JSON text parts, file parts for bytes parameters).
    # Fuzzed here: the call itself, synchronous (test_runs.py covers Prefer: respond-async
    # and the runs routes it leads to).
    document["paths"] = {p: v for p, v in document["paths"].items() if p.startswith("/restified/")}
    for item in document["paths"].values():
        del item["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]
        for operation in (item["get"], item["post"]):
            operation["parameters"] = [p for p in operation["parameters"] if p["name"] != "Prefer"]
            del operation["responses"]["202"]
    schema = schemathesis.openapi.from_dict(document)
    return [result.ok() for result in schema.get_all_operations()]


def _run(operation: Any, base_url: str, mode: GenerationMode, seen: dict[int, int]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def check(case: Any) -> None:
        if case.query:  # the document's query-token scheme: authenticate by header instead
            case.query.pop("token", None)
            case.query.pop("key", None)
        response = case.call(base_url=base_url, headers=HEADERS, timeout=60)
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        if mode is GenerationMode.POSITIVE:
            case.validate_response(response)
            # 304: the generated If-None-Match (say `*`) matched the answer, as it may.
            assert response.status_code in (200, 304), response.text
        else:
            # Anything may be sent; a documented error may come back; never a crash. A form
            # field is text, coerced like a query ("5" is the integer 5): a value the schema
            # calls a string may be read as the number it spells, so for forms a "violating"
            # body the server accepts is no contradiction.
            excluded = [not_a_server_error]
            if (case.media_type or "").startswith("multipart/"):
                excluded.append(negative_data_rejection)
            case.validate_response(response, excluded_checks=excluded)
            assert response.status_code < 500, response.text

    check()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_endpoint_conforms_to_its_openapi_document(
    operations: list[Any], base_url: str, mode: GenerationMode
) -> None:
    assert {op.method.upper() for op in operations} == {"GET", "POST"}
    seen: dict[int, int] = {}
    for operation in operations:
        _run(operation, base_url, mode, seen)
    if mode is GenerationMode.POSITIVE:
        assert 200 in seen
        assert set(seen) <= {200, 304}
    else:
        assert set(seen) - {200} <= {304, 400, 406, 413, 422}
        assert set(seen) & {400, 422}, "invalid input must have been sent and refused"
    assert (
        requests.get(
            f"{base_url}/restified/echo.ipynb", params={"count": "3"}, headers=HEADERS, timeout=30
        ).json()["count"]
        == 3
    )
