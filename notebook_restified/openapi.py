"""The OpenAPI 3.1 document of one notebook's endpoint (pure)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from . import __version__
from .spec import NotebookSpec, Parameter

JSON_TYPES = {
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "str": "string",
    "list": "array",
    "dict": "object",
}

# (status, contract type, when) — the contract's error table.
ERRORS: tuple[tuple[int, str, str], ...] = (
    (400, "invalid_request", "The body is not JSON, or not a JSON object."),
    (403, "forbidden", "Missing or insufficient credentials."),
    (404, "not_found", "No such notebook."),
    (406, "not_acceptable", "The result cannot be given in a type the Accept header allows."),
    (409, "invalid_notebook", "The notebook's tags make no function."),
    (413, "too_large", "The request body is larger than the server accepts."),
    (422, "invalid_parameters", "Unknown, unparsable or ill-typed parameters (see details)."),
    (
        429,
        "rate_limited",
        "An endpoint key made too many calls this minute, or has too many in flight; retry"
        " after the Retry-After header's seconds.",
    ),
    (500, "execution_error", "A cell raised (see cell_index, ename, evalue, traceback)."),
    (502, "kernel_died", "The process running the call died."),
    (503, "busy", "The call queue is full; retry after the Retry-After header's seconds."),
    (504, "timeout", "The call ran past its time limit and was stopped."),
)


def parameter_schema(parameter: Parameter) -> dict[str, Any]:
    """JSON Schema of one parameter: its type (nullable where allowed), default and help."""
    schema: dict[str, Any] = {}
    json_type = JSON_TYPES.get(parameter.type)
    if json_type is not None:
        schema["type"] = [json_type, "null"] if parameter.nullable else json_type
    schema["default"] = parameter.default
    if parameter.help:
        schema["description"] = parameter.help
    return schema


def parameters_schema(spec: NotebookSpec) -> dict[str, Any]:
    """JSON Schema of a call's body: an object of the declared parameters, nothing else."""
    return {
        "type": "object",
        "properties": {p.name: parameter_schema(p) for p in spec.parameters},
        "additionalProperties": False,
    }


def _query_parameter(parameter: Parameter) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": parameter.name,
        "in": "query",
        "required": False,
        "description": parameter.help or f"{parameter.type} (default {parameter.default!r})",
    }
    if parameter.type in ("list", "dict", "any"):
        entry["content"] = {"application/json": {"schema": parameter_schema(parameter)}}
    else:
        entry["schema"] = parameter_schema(parameter)
    return entry


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["type", "message"],
            "properties": {
                "type": {"type": "string"},
                "message": {"type": "string"},
                "details": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"name": {"type": "string"}, "problem": {"type": "string"}},
                    },
                },
                "cell_index": {"type": ["integer", "null"]},
                "cell_id": {"type": ["string", "null"]},
                "ename": {"type": "string"},
                "evalue": {"type": "string"},
                "traceback": {"type": "array", "items": {"type": "string"}},
            },
        }
    },
}


def _responses() -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": {
            "description": "The return cell's value: JSON, or PNG for an image, or CSV for a"
            " table when Accept asks for it.",
            "content": {
                "application/json": {"schema": {}},
                "image/png": {"schema": {"type": "string", "contentMediaType": "image/png"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    }
    for status, kind, when in ERRORS:
        response: dict[str, Any] = {
            "description": f"{kind}: {when}",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        if status in (429, 503):
            response["headers"] = {
                "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}
            }
        responses[str(status)] = response
    return responses


def openapi_document(spec: NotebookSpec, path: str, server_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document for ``/restified/<path>`` served under ``server_url``."""
    body = parameters_schema(spec)
    operation_doc = f"Run {path} with the given parameters; the result is its return cell's value."
    if spec.warnings:
        operation_doc += "\n\nWarnings:\n" + "\n".join(f"- {w}" for w in spec.warnings)
    responses = _responses()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{path} (notebook endpoint)",
            "version": __version__,
            "description": f"The notebook {path} as an HTTP endpoint, served by"
            " notebook_restified.",
        },
        "servers": [{"url": server_url.rstrip("/") or "/"}],
        "security": [{"token": []}, {"tokenQuery": []}],
        "paths": {
            f"/restified/{quote(path)}": {
                "get": {
                    "operationId": "call_get",
                    "summary": f"Call {path} with query parameters",
                    "description": operation_doc,
                    "parameters": [_query_parameter(p) for p in spec.parameters],
                    "responses": responses,
                },
                "post": {
                    "operationId": "call_post",
                    "summary": f"Call {path} with a JSON object",
                    "description": operation_doc,
                    "requestBody": {
                        "required": False,
                        "content": {
                            "application/json": {"schema": body},
                            "application/x-www-form-urlencoded": {
                                "schema": body,
                                # A form field of a list/dict parameter holds JSON text.
                                "encoding": {
                                    p.name: {"contentType": "application/json"}
                                    for p in spec.parameters
                                    if p.type in ("list", "dict", "any")
                                },
                            },
                        },
                    },
                    "responses": responses,
                },
            }
        },
        "components": {
            "schemas": {"Error": ERROR_SCHEMA, "Parameters": body},
            "securitySchemes": {
                "token": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`token <server token>`",
                },
                "tokenQuery": {"type": "apiKey", "in": "query", "name": "token"},
            },
        },
    }
