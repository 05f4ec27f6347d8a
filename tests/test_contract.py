"""The contract's one table (notebook_restified/contract.py) and what is made from it: the
OpenAPI responses and security schemes, the README's errors table, src/api/contract.ts."""

from __future__ import annotations

import inspect
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import nbformat
import pytest
from openapi_spec_validator import validate

from notebook_restified import errors
from notebook_restified.contract import (
    AUTH_SCHEMES,
    ERROR_FIELDS,
    ERRORS,
    TYPESCRIPT_PATH,
    http_error_type,
    readme_errors_table,
    readme_with_table,
    typescript_contract,
)
from notebook_restified.declarations import read_python_parameters
from notebook_restified.openapi import openapi_document
from notebook_restified.results import CallResult
from notebook_restified.spec import load_spec
from notebook_restified.tags import read_tags

from .notebooks import WRITTEN, Fetch, fetch
from .views import compare_parameters

ROOT = Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.ipynb"))


def _error_classes() -> list[type[errors.RestifiedError]]:
    return [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.RestifiedError) and "type" in vars(cls)
    ]


def test_every_error_class_is_in_the_table_with_its_status() -> None:
    table = {(k.type, k.status) for k in ERRORS}
    classes = _error_classes()
    assert errors.RestifiedError in classes
    for cls in classes:
        assert (cls.type, cls.status) in table, cls
    assert len({k.type for k in ERRORS}) == len(ERRORS), "one entry per type"


def _raised(make: Callable[[], Any]) -> errors.RestifiedError:
    with pytest.raises(errors.RestifiedError) as caught:
        make()
    return caught.value


def _cell(*tags: str) -> dict[str, Any]:
    return {"cell_type": "code", "source": "1", "metadata": {"tags": list(tags)}}


def _examples_of_errors() -> list[errors.RestifiedError]:
    """Each error class with every field it can carry, made as the code that raises it makes
    it where that code is pure (so an extra field it adds is seen)."""
    return [
        errors.RestifiedError("the engine is closed"),
        errors.InvalidRequest("The body must be a JSON object, not a list."),
        errors.TooLarge("The body is larger than 10 bytes."),
        errors.NotFound("No such notebook: a.ipynb"),
        errors.NotAcceptable("Accept allows none of: application/json"),
        _raised(lambda: read_python_parameters("x = 1\nx +=", 3)),  # cells and line
        _raised(lambda: read_python_parameters("x = (", 3)),
        _raised(lambda: read_tags([_cell("skip", "return")], [])),  # cells, no line
        _raised(lambda: read_tags([_cell("return"), _cell("return")], [])),
        errors.InvalidParameters([{"name": "n", "problem": "expected an integer"}]),
        _raised(
            lambda: CallResult.from_reply(
                {
                    "status": "error",
                    "error": {
                        "cell_index": 2,
                        "cell_id": "abc",
                        "ename": "ValueError",
                        "evalue": "no",
                        "traceback": ["\x1b[31mValueError\x1b[0m: no\nline two"],
                    },
                    "stdout": "printed\n",
                    "stderr": "warned\n",
                },
                0.1,
            )
        ),
        errors.ExecutionError(cell_index=None, cell_id=None, ename="E", evalue="v"),
        errors.KernelDied(),
        _raised(
            lambda: CallResult.from_reply(
                {"status": "too_large", "error": {"size": 20, "limit": 10}}, 0.1
            )
        ),
        errors.ResultTooLarge(limit=10),
        errors.Busy(),
        errors.Busy("the server is shutting down; retry", retry_after=5),
        errors.CallTimeout(time_limit=1.5),
        errors.KeyRefused("This key does not open this endpoint."),
        errors.KeysUnavailable("The keys file cannot be read."),
        errors.RateLimited("Too many calls with this key.", retry_after=30),
        errors.NotFinished("The run is still running."),
        errors.RunCancelled("The run was cancelled."),
        errors.RunInterrupted("The server stopped while the run was in flight."),
    ]


def _error_schema() -> dict[str, Any]:
    """The Error schema of a generated OpenAPI document, with the components it refers to."""
    document = openapi_document(load_spec(EXAMPLES[0]), EXAMPLES[0].name, "http://x/")
    return {**document["components"]["schemas"]["Error"], "components": document["components"]}


def test_every_error_body_carries_only_its_fields_and_fits_the_error_schema() -> None:
    validator = jsonschema.Draft202012Validator(_error_schema())
    by_type = {k.type: k for k in ERRORS}
    examples = _examples_of_errors()
    assert {type(e) for e in examples} == set(_error_classes()), "an example of every class"
    carried: set[str] = set()
    for error in examples:
        body = json.loads(json.dumps(error.to_json(), allow_nan=False))
        assert set(body) == {"error"}
        fields = body["error"]
        kind = by_type[fields["type"]]
        assert fields["type"] == type(error).type
        assert set(fields) <= {"type", "message", *kind.fields}, type(error).__name__
        carried |= set(fields)
        validator.validate(body)
    # Every field of the table is carried by some error (none is stale).
    assert set(ERROR_FIELDS) <= carried
    # The framework's own errors (no domain error) fit it too.
    for status in (400, 403, 404, 405, 411, 413, 500, 502):
        validator.validate({"error": {"type": http_error_type(status), "message": "x"}})


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"type": "busy", "message": "x", "retry_after": 1, "queue": 3}},
        {"error": {"type": "busy", "message": "x", "retry_after": "soon"}},
        {"error": {"type": "no_such_type", "message": "x"}},
        {"error": {"type": "busy"}},
        {"error": {"type": "invalid_notebook", "message": "x", "line": "2"}},
        {"error": {"type": "invalid_parameters", "message": "x", "details": [{"name": "n"}]}},
        {"message": "Forbidden"},
    ],
)
def test_the_error_schema_refuses_what_the_table_does_not_say(body: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(body, _error_schema(), cls=jsonschema.Draft202012Validator)


def test_readme_errors_table_is_the_tables() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_errors_table() in readme, (
        "README.md's errors table is stale: run `python -m notebook_restified.contract --write`"
    )
    assert readme_with_table(readme) == readme
    for kind in ERRORS:
        fields = ", ".join(f"`{name}`" for name in kind.fields)
        assert re.search(
            rf"\| {kind.status} +\| `{kind.type}` +\| [^|]+\| {re.escape(fields)} *\|", readme
        ), kind.type


def test_typescript_contract_is_the_tables() -> None:
    text = (ROOT / TYPESCRIPT_PATH).read_text(encoding="utf-8")
    assert text == typescript_contract(), (
        "src/api/contract.ts is stale: run `python -m notebook_restified.contract --write`"
    )
    for kind in ERRORS:
        assert f"'{kind.type}'" in text
    for scheme in AUTH_SCHEMES:
        assert f"'{scheme.name}'" in text
    body = text[text.index("export interface IErrorObject {") :]
    body = body[: body.index("\n}\n")]
    assert "  type: ErrorType;" in body
    for name in ERROR_FIELDS:
        assert f"\n  {name}?: " in body, name


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_openapi_of_every_example_is_valid_and_says_every_error_and_scheme(path: Path) -> None:
    spec = load_spec(path)
    document = openapi_document(spec, path.name, "http://localhost:8888/")
    validate(document)
    operations = document["paths"][f"/restified/{path.name}"]
    for method in ("get", "post"):
        responses = operations[method]["responses"]
        for kind in ERRORS:
            if kind.scope == "call":
                assert kind.type in responses[str(kind.status)]["description"], kind.type
                if kind.retry_after:
                    assert "Retry-After" in responses[str(kind.status)]["headers"]
    schemes = document["components"]["securitySchemes"]
    assert set(schemes) == {s.name for s in AUTH_SCHEMES}
    assert schemes["endpointKey"]["scheme"] == "bearer"
    assert {"endpointKeyQuery": []} in operations["get"]["security"]
    assert {"endpointKeyQuery": []} not in operations["post"]["security"]  # refused on a POST
    # The runs routes: a key in the query of a GET, never of the DELETE that cancels.
    run = document["paths"]["/api/restified/runs/{run_id}"]
    assert {"endpointKeyQuery": []} in run["get"]["security"]
    assert {"endpointKeyQuery": []} not in run["delete"]["security"]
    assert {"endpointKey": []} in run["delete"]["security"]
    assert {"endpointKeyQuery": []} in document["paths"]["/api/restified/runs"]["get"]["security"]
    json.dumps(document, allow_nan=False)


# --------------------------------------------------------------------------------------------
# The spec JSON and the OpenAPI document describe each parameter alike


@pytest.mark.last
async def test_spec_and_openapi_describe_every_parameter_alike(
    jp_fetch: Fetch, jp_root_dir: Path
) -> None:
    """For every example and every notebook the other tests wrote (their parameters cells,
    recorded by ``tests/notebooks.py``; this test runs after them), the spec JSON and the
    OpenAPI document, as the server serves them, say the same of each parameter: its type,
    null, choices, default, bounds, format and element types, each side read on its own."""
    notebooks = {f"example_{path.name}": path.read_text("utf-8") for path in EXAMPLES}
    for index, nb in enumerate(list(WRITTEN.values())):
        notebooks[f"written_{index}.ipynb"] = nbformat.writes(nb)
    for name, text in notebooks.items():
        (jp_root_dir / name).write_text(text, encoding="utf-8")
    compared = refused = 0
    for name in notebooks:
        status, spec = await fetch(jp_fetch, "api", "restified", "spec", name)
        document_status, document = await fetch(jp_fetch, "api", "restified", "openapi", name)
        assert document_status == status, name
        if status != 200:  # a parameters cell that cannot be read: the same error from both
            assert (status, spec["error"]["type"]) == (409, "invalid_notebook"), (name, spec)
            assert document == spec, name
            refused += 1
            continue
        compared += compare_parameters(spec, document, name)
    examples = sum(len(load_spec(path).parameters) for path in EXAMPLES)
    assert compared >= examples > 0
    sys.stderr.write(
        f"spec and OpenAPI compared: {compared} parameters of {len(notebooks) - refused}"
        f" notebooks ({len(WRITTEN)} written by the tests; {refused} refused alike)\n"
    )
