"""The contract's one table (notebook_restified/contract.py) and what is made from it: the
OpenAPI responses and security schemes, the README's errors table, src/api/contract.ts."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from notebook_restified import errors
from notebook_restified.contract import (
    AUTH_SCHEMES,
    ERRORS,
    TYPESCRIPT_PATH,
    readme_errors_table,
    readme_with_table,
    typescript_contract,
)
from notebook_restified.openapi import openapi_document
from notebook_restified.spec import load_spec

ROOT = Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.ipynb"))


def test_every_error_class_is_in_the_table_with_its_status() -> None:
    table = {(k.type, k.status) for k in ERRORS}
    classes = [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.RestifiedError) and "type" in vars(cls)
    ]
    assert classes
    for cls in classes:
        if cls is errors.RestifiedError:
            continue
        assert (cls.type, cls.status) in table, cls
    assert len({k.type for k in ERRORS}) == len(ERRORS), "one entry per type"


def test_readme_errors_table_is_the_tables() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_errors_table() in readme, (
        "README.md's errors table is stale: run `python -m notebook_restified.contract --write`"
    )
    assert readme_with_table(readme) == readme
    for kind in ERRORS:
        assert re.search(rf"\| {kind.status} +\| `{kind.type}` ", readme), kind.type


def test_typescript_contract_is_the_tables() -> None:
    text = (ROOT / TYPESCRIPT_PATH).read_text(encoding="utf-8")
    assert text == typescript_contract(), (
        "src/api/contract.ts is stale: run `python -m notebook_restified.contract --write`"
    )
    for kind in ERRORS:
        assert f"'{kind.type}'" in text
    for scheme in AUTH_SCHEMES:
        assert f"'{scheme.name}'" in text


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
    # The spec JSON and the OpenAPI schema describe each parameter the same way.
    properties = document["components"]["schemas"]["Parameters"]["properties"]
    spec_json = spec.to_json()
    assert {p["name"]: p["schema"] for p in spec_json["parameters"]} == properties
    for parameter in spec_json["parameters"]:
        schema = parameter["schema"]
        kind = schema.get("type")
        nullable_in_schema = isinstance(kind, list) and "null" in kind
        if "type" in schema:
            assert parameter["nullable"] == nullable_in_schema, parameter["name"]
    json.dumps(document, allow_nan=False)
