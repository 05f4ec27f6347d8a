"""The OpenAPI 3.1 document of one notebook's endpoint (pure)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from . import __version__
from .declarations import Parameter
from .spec import NotebookSpec

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
    (502, "result_too_large", "The call's result is larger than the server accepts."),
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


# --- asynchronous runs ----------------------------------------------------------------

PREFER_PARAMETER: dict[str, Any] = {
    "name": "Prefer",
    "in": "header",
    "required": False,
    "description": "`respond-async` (RFC 7240): answer 202 at once with a run (see the runs"
    " routes); `respond-async, wait=N`: answer as a synchronous call if the run is over"
    " within N seconds, else 202. Without it the call is synchronous.",
    "schema": {"type": "string"},
}

RUN_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled", "timed_out"]

RUN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "path", "status", "parameters", "created", "progress", "links"],
    "properties": {
        "id": {"type": "string", "description": "Unguessable (128 random bits, hex)."},
        "path": {"type": "string"},
        "status": {"type": "string", "enum": RUN_STATUSES},
        "asynchronous": {
            "type": "boolean",
            "description": "false: a synchronous call kept as record_calls says.",
        },
        "parameters": {"type": "object", "description": "The values run (coerced)."},
        "notebook_sha256": {"type": "string"},
        "created": {"type": "string", "format": "date-time"},
        "started": {"type": ["string", "null"], "format": "date-time"},
        "finished": {"type": ["string", "null"], "format": "date-time"},
        "duration": {"type": ["number", "null"]},
        "progress": {
            "type": "object",
            "properties": {
                "cell": {"type": "integer", "description": "Cells finished."},
                "cells": {"type": "integer", "description": "Cells the call runs."},
            },
        },
        "error": {
            "oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Error/properties/error"}],
            "description": "What a synchronous call would have answered, when it failed.",
        },
        "result_kind": {"type": ["string", "null"], "enum": ["json", "table", "image", None]},
        "key": {
            "type": ["object", "null"],
            "description": "The endpoint key that made the run (shown to the server's users).",
        },
        "links": {
            "type": "object",
            "properties": {
                name: {"type": "string", "format": "uri"}
                for name in ("self", "result", "events", "notebook")
            },
        },
    },
}

RUN_ERRORS: tuple[tuple[int, str, str], ...] = (
    (403, "forbidden", "No or insufficient credentials."),
    (404, "not_found", "No such run, or not one of this key's runs."),
    (409, "not_finished", "The run is queued or running (cancelled: it was cancelled)."),
)


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def runs_paths() -> dict[str, Any]:
    """The runs routes: what a client follows after a 202."""
    run_id = {"name": "run_id", "in": "path", "required": True, "schema": {"type": "string"}}
    run_json = {"application/json": {"schema": {"$ref": "#/components/schemas/Run"}}}
    errors = {str(status): _error_response(f"{kind}: {when}") for status, kind, when in RUN_ERRORS}
    return {
        "/api/restified/runs": {
            "get": {
                "operationId": "list_runs",
                "summary": "Recent runs, newest first (a key holder: its own only)",
                "parameters": [
                    {
                        "name": "path",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer"},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "The runs.",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "runs": {
                                            "type": "array",
                                            "items": {"$ref": "#/components/schemas/Run"},
                                        }
                                    },
                                }
                            }
                        },
                    },
                    "403": errors["403"],
                },
            }
        },
        "/api/restified/runs/{run_id}": {
            "parameters": [run_id],
            "get": {
                "operationId": "get_run",
                "summary": "The run object",
                "responses": {"200": {"description": "The run.", "content": run_json}, **errors},
            },
            "delete": {
                "operationId": "cancel_run",
                "summary": "Cancel the run: its processes are killed; status cancelled",
                "responses": {
                    "200": {
                        "description": "The run (a run that is over: as it was).",
                        "content": run_json,
                    },
                    **errors,
                },
            },
        },
        "/api/restified/runs/{run_id}/result": {
            "parameters": [run_id],
            "get": {
                "operationId": "get_run_result",
                "summary": "The result, negotiated as a call's; or the error the run ended with"
                " (its status: 500, 502, 504, ...)",
                "responses": {**_responses(), **errors},
            },
        },
        "/api/restified/runs/{run_id}/events": {
            "parameters": [
                run_id,
                {
                    "name": "Last-Event-ID",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "integer"},
                    "description": "Resume after this event id (also ?last_event_id=).",
                },
            ],
            "get": {
                "operationId": "run_events",
                "summary": "Server-Sent Events: status, cell, output, then done (the run object)",
                "responses": {
                    "200": {
                        "description": "`id: <n>`, `event: status|cell|output|done`, `data: <JSON>`;"
                        " replayed from the start (or Last-Event-ID); ends after done.",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    **errors,
                },
            },
        },
        "/api/restified/runs/{run_id}/notebook": {
            "parameters": [run_id],
            "get": {
                "operationId": "run_notebook",
                "summary": "The executed notebook (not for key holders without key_tracebacks)",
                "responses": {
                    "200": {
                        "description": "nbformat 4 JSON.",
                        "content": {"application/x-ipynb+json": {"schema": {"type": "object"}}},
                    },
                    **errors,
                },
            },
        },
    }


def _accepted() -> dict[str, Any]:
    return {
        "description": "Prefer: respond-async: the run, made and queued; follow Location.",
        "headers": {
            "Location": {"description": "The run's URL.", "schema": {"type": "string"}},
            "Retry-After": {
                "description": "Seconds before asking again.",
                "schema": {"type": "integer"},
            },
        },
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Run"}}},
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
        if str(status) in responses:  # one response per status: its types' descriptions join
            responses[str(status)]["description"] += f" Or {kind}: {when}"
            continue
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
    if spec.warmup:
        runs = len(spec.warmup)
        operation_doc += (
            f"\n\nWarm-up: after setup, the body runs {runs} time{'s' if runs > 1 else ''}"
            " (values: "
            + ", ".join(json.dumps(values, sort_keys=True) for values in spec.warmup)
            + ") in a scratch namespace that is discarded; what libraries keep at module"
            " level from it is what every call starts from."
        )
    if spec.warnings:
        operation_doc += "\n\nWarnings:\n" + "\n".join(f"- {w}" for w in spec.warnings)
    call_responses = {**_responses(), "202": _accepted()}
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
                    "parameters": [
                        *(_query_parameter(p) for p in spec.parameters),
                        PREFER_PARAMETER,
                    ],
                    "responses": call_responses,
                },
                "post": {
                    "operationId": "call_post",
                    "summary": f"Call {path} with a JSON object",
                    "description": operation_doc,
                    "parameters": [PREFER_PARAMETER],
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
                    "responses": call_responses,
                },
            },
            **runs_paths(),
        },
        "components": {
            "schemas": {"Error": ERROR_SCHEMA, "Parameters": body, "Run": RUN_SCHEMA},
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
