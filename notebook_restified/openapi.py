"""The OpenAPI 3.1 document of one notebook's endpoint (pure)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from . import __version__
from .contract import ERRORS, error_schema, security, security_schemes
from .declarations import Parameter
from .spec import NotebookSpec


def parameter_schema(parameter: Parameter) -> dict[str, Any]:
    """JSON Schema of one parameter's value in a JSON body: the same object as the spec
    JSON's ``schema`` (type, nullable, choices, element types, bounds, default, help)."""
    return parameter.schema()


def parameters_schema(spec: NotebookSpec) -> dict[str, Any]:
    """JSON Schema of a call's body: an object of the declared parameters, nothing else."""
    return {
        "type": "object",
        "properties": {p.name: parameter_schema(p) for p in spec.parameters},
        "additionalProperties": False,
    }


def _json_text(parameter: Parameter) -> bool:
    """Whether the parameter's text (query, form field) is JSON: lists, dicts, ``any``."""
    return parameter.type in ("list", "dict", "any")


def _query_parameter(parameter: Parameter) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": parameter.name,
        "in": "query",
        "required": False,
        "description": parameter.help or f"{parameter.type} (default {parameter.default!r})",
    }
    if _json_text(parameter):
        entry["content"] = {"application/json": {"schema": parameter_schema(parameter)}}
    else:
        entry["schema"] = parameter_schema(parameter)
    return entry


def _multipart_schema(spec: NotebookSpec) -> dict[str, Any]:
    """A multipart form's schema: a ``bytes`` parameter is a file part."""
    properties = {}
    for p in spec.parameters:
        if p.type == "bytes":
            file_part: dict[str, Any] = {"type": "string", "format": "binary"}
            if p.help:
                file_part["description"] = p.help
            properties[p.name] = file_part
        else:
            properties[p.name] = parameter_schema(p)
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _request_body(spec: NotebookSpec) -> dict[str, Any]:
    body = parameters_schema(spec)
    # A form field of a list/dict parameter holds JSON text.
    json_fields = {
        p.name: {"contentType": "application/json"} for p in spec.parameters if _json_text(p)
    }
    content: dict[str, Any] = {
        "application/json": {"schema": body},
        "application/x-www-form-urlencoded": {"schema": body, "encoding": json_fields},
    }
    multipart: dict[str, Any] = {"schema": _multipart_schema(spec)}
    file_parts = {
        p.name: {"contentType": "application/octet-stream"}
        for p in spec.parameters
        if p.type == "bytes"
    }
    if json_fields or file_parts:
        multipart["encoding"] = {**json_fields, **file_parts}
    content["multipart/form-data"] = multipart
    return {"required": False, "content": content}


ERROR_SCHEMA: dict[str, Any] = error_schema()
"""The body of every error, made from the contract's table (:mod:`.contract`)."""


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


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def runs_paths() -> dict[str, Any]:
    """The runs routes: what a client follows after a 202."""
    run_id = {"name": "run_id", "in": "path", "required": True, "schema": {"type": "string"}}
    run_json = {"application/json": {"schema": {"$ref": "#/components/schemas/Run"}}}
    errors = _error_responses(("call", "runs"))
    paths: dict[str, Any] = {
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
    # Each operation says how it may be authenticated (a key in the query: GETs only).
    for item in paths.values():
        for method in ("get", "delete"):
            if method in item:
                item[method]["security"] = security(method, runs=True)
    return paths


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


def _error_responses(scopes: tuple[str, ...]) -> dict[str, Any]:
    """One response per status of the contract's errors in ``scopes`` (its types' descriptions
    joined), with ``Retry-After`` where an error carries it."""
    responses: dict[str, Any] = {}
    for kind in ERRORS:
        if kind.scope not in scopes:
            continue
        when = kind.when.replace("`", "")
        response = responses.get(str(kind.status))
        if response is not None:
            response["description"] += f" Or {kind.type}: {when}."
        else:
            response = _error_response(f"{kind.type}: {when}.")
            responses[str(kind.status)] = response
        if kind.retry_after:
            response["headers"] = {
                "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}
            }
    return responses


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
            "headers": {
                "ETag": {
                    "description": "A strong validator of this answer (send it back in"
                    " If-None-Match).",
                    "schema": {"type": "string"},
                },
                "Cache-Control": {
                    "description": "`private, max-age=<s>` where the notebook caches its"
                    " results (metadata.restified.cache), else `private, no-cache`.",
                    "schema": {"type": "string"},
                },
            },
        }
    }
    responses.update(_error_responses(("call",)))
    return responses


IF_NONE_MATCH: dict[str, Any] = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "An ETag of an earlier answer: 304 with no body when the answer is the same.",
    "schema": {"type": "string"},
}


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
        "security": security(),
        "paths": {
            f"/restified/{quote(path)}": {
                "get": {
                    "operationId": "call_get",
                    "security": security("GET"),
                    "summary": f"Call {path} with query parameters",
                    "description": operation_doc,
                    "parameters": [
                        *(_query_parameter(p) for p in spec.parameters),
                        PREFER_PARAMETER,
                        IF_NONE_MATCH,
                    ],
                    "responses": {
                        **call_responses,
                        "304": {"description": "If-None-Match matched: the same answer."},
                    },
                },
                "post": {
                    "operationId": "call_post",
                    "security": security("POST"),
                    "summary": f"Call {path} with a JSON object",
                    "description": operation_doc,
                    "parameters": [PREFER_PARAMETER],
                    "requestBody": _request_body(spec),
                    "responses": call_responses,
                },
            },
            **runs_paths(),
        },
        "components": {
            "schemas": {"Error": ERROR_SCHEMA, "Parameters": body, "Run": RUN_SCHEMA},
            "securitySchemes": security_schemes(),
        },
    }
