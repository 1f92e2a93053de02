"""The bridge's OpenAPI 3.1 description, served at /openapi.json.

Written by hand so it says exactly what the handlers do; a test checks that it is valid OpenAPI
and that it lists every route the app serves.
"""

from __future__ import annotations

from typing import Any

_PROBLEM = {"$ref": "#/components/responses/Problem"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _sse(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/event-stream": {"schema": {"type": "string"}}}}


_DOC_ID = {"name": "doc_id", "in": "path", "required": True, "schema": {"type": "string"}}
_PAGE_NO = {"name": "page_no", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
_LAST_EVENT_ID = [
    {
        "name": "Last-Event-ID",
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": "Resume after this event id (what the stream sent as `id`).",
    },
    {
        "name": "last_event_id",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": "The same as the header, for clients that cannot set headers.",
    },
]

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "pagestream bridge",
        "version": "1",
        "description": "Upload documents, follow their progress page by page over server-sent events "
        "(resumable with Last-Event-ID: ids are Kafka positions), read their results. Errors are "
        "problem details (RFC 9457). With PAGESTREAM_AUTH=on every /v1 request needs a tenant's API key "
        "(401 without a known one, 403 for another tenant, 429 with Retry-After beyond the tenant's rate) "
        "and sees only that tenant's documents, events, rows and files.",
    },
    # Keys are optional while the bridge runs with PAGESTREAM_AUTH=off (local use on loopback).
    "security": [{}, {"bearer": []}, {"apiKey": []}, {"cookie": []}],
    "paths": {
        "/v1/documents": {
            "post": {
                "summary": "Upload a document (multipart) and submit it",
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "properties": {
                                    "file": {"type": "string", "contentMediaType": "application/octet-stream"},
                                    "tenant": {"type": "string", "default": "default"},
                                    "ocr_engine": {"type": "string"},
                                    "render_dpi": {"type": "integer", "minimum": 72, "maximum": 600},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "202": _json(_ref("Submitted"), "Submitted; follow the links"),
                    "400": _PROBLEM,
                    "413": _PROBLEM,
                    "415": _PROBLEM,
                },
            },
            "get": {
                "summary": "The most recently active documents",
                "parameters": [
                    {"name": "tenant", "in": "query", "required": False, "schema": {"type": "string"}},
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50},
                    },
                ],
                "responses": {
                    "200": _json(
                        {"type": "object", "properties": {"documents": {"type": "array", "items": _ref("Status")}}},
                        "Newest first",
                    ),
                    "400": _PROBLEM,
                },
            },
        },
        "/v1/uploads": {
            "post": {
                "summary": "A presigned POST (URL and form fields) for a large document",
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "tenant": {"type": "string", "default": "default"},
                                    "filename": {"type": "string"},
                                    "size_bytes": {"type": "integer", "minimum": 0},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "201": _json(
                        _ref("Upload"),
                        "POST the fields, then the file (multipart part 'file'), to upload_url; then POST submit_url",
                    ),
                    "400": _PROBLEM,
                    "413": _PROBLEM,
                },
            }
        },
        "/v1/documents/{doc_id}/submit": {
            "post": {
                "summary": "Submit a document uploaded to its presigned URL",
                "parameters": [_DOC_ID],
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "ocr_engine": {"type": "string"},
                                    "render_dpi": {"type": "integer", "minimum": 72, "maximum": 600},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "202": _json(_ref("Submitted"), "Submitted"),
                    "400": _PROBLEM,
                    "404": _PROBLEM,
                    "409": _PROBLEM,
                    "413": _PROBLEM,
                    "415": _PROBLEM,
                },
            }
        },
        "/v1/documents/{doc_id}": {
            "get": {
                "summary": "Status of a document, and its result once completed",
                "parameters": [_DOC_ID],
                "responses": {"200": _json(_ref("Document"), "Status and result"), "404": _PROBLEM},
            }
        },
        "/v1/documents/{doc_id}/events": {
            "get": {
                "summary": "The document's progress events (one per page per stage), then `completed`",
                "parameters": [_DOC_ID, *_LAST_EVENT_ID],
                "responses": {
                    "200": _sse("Events `progress` and a final `completed`; ids are topic:partition:offset"),
                    "204": {"description": "The Last-Event-ID was the final event: nothing more will come"},
                    "400": _PROBLEM,
                    "404": _PROBLEM,
                },
            }
        },
        "/v1/documents/{doc_id}/pages/{page_no}": {
            "get": {
                "summary": "A completed page's result: lines and words with boxes, regions",
                "parameters": [_DOC_ID, _PAGE_NO],
                "responses": {"200": _json({"type": "object"}, "Page result"), "404": _PROBLEM, "409": _PROBLEM},
            }
        },
        "/v1/documents/{doc_id}/pages/{page_no}/image": {
            "get": {
                "summary": "A completed page's image",
                "parameters": [_DOC_ID, _PAGE_NO],
                "responses": {
                    "200": {"description": "PNG", "content": {"image/png": {"schema": {"type": "string"}}}},
                    "404": _PROBLEM,
                    "409": _PROBLEM,
                },
            }
        },
        "/v1/events": {
            "get": {
                "summary": "Every progress and result event of a tenant (all tenants without one)",
                "parameters": [
                    {"name": "tenant", "in": "query", "required": False, "schema": {"type": "string"}},
                    *_LAST_EVENT_ID,
                ],
                "responses": {
                    "200": _sse("Events `progress` and `completed`; each id is the cursor over all partitions"),
                    "400": _PROBLEM,
                },
            }
        },
        "/v1/lag": {
            "get": {
                "summary": "Messages the pipeline's consumer group has yet to process, per topic",
                "responses": {"200": _json(_ref("Lag"), "Last measurement")},
            }
        },
        "/v1/sql": {
            "post": {
                "summary": "One read-only ClickHouse SELECT over the analytics tables (the caller's rows only)",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["query"],
                                "properties": {"query": {"type": "string"}},
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json(_ref("SqlResult"), "Columns and rows"),
                    "400": _PROBLEM,
                    "413": _PROBLEM,
                    "429": _PROBLEM,
                    "503": _PROBLEM,
                },
            }
        },
        "/v1/sink": {
            "get": {
                "summary": "State of the ClickHouse sink in this process",
                "responses": {"200": _json({"type": "object"}, "Sink status")},
            }
        },
        "/v1/documents/{doc_id}/files": {
            "get": {
                "summary": "Presigned download URLs of a completed document's result files and page images",
                "parameters": [_DOC_ID],
                "responses": {"200": _json({"type": "object"}, "URLs"), "404": _PROBLEM, "503": _PROBLEM},
            }
        },
        "/healthz": {"get": {"summary": "The process serves", "responses": {"200": _json({"type": "object"}, "OK")}}},
        "/readyz": {
            "get": {
                "summary": "Kafka, registry and object store reachable, feed caught up",
                "responses": {"200": _json({"type": "object"}, "Ready"), "503": _PROBLEM},
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics of the bridge",
                "responses": {"200": {"description": "Text format", "content": {"text/plain": {}}}},
            }
        },
        "/openapi.json": {
            "get": {"summary": "This description", "responses": {"200": _json({"type": "object"}, "OpenAPI")}}
        },
        "/dashboard": {
            "get": {
                "summary": "Live dashboard",
                "responses": {"200": {"description": "HTML", "content": {"text/html": {}}}},
            }
        },
    },
    "components": {
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer psk_..."},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            "cookie": {
                "type": "apiKey",
                "in": "cookie",
                "name": "pagestream_key",
                "description": "For the dashboard's EventSource and images, which cannot set headers.",
            },
        },
        "responses": {
            "Problem": {
                "description": "Problem details (RFC 9457)",
                "content": {"application/problem+json": {"schema": _ref("Problem")}},
            }
        },
        "schemas": {
            "Problem": {
                "type": "object",
                "required": ["type", "title", "status", "detail"],
                "properties": {
                    "type": {"type": "string", "format": "uri-reference"},
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                    "instance": {"type": "string"},
                },
            },
            "Submitted": {
                "type": "object",
                "required": ["doc_id", "tenant", "status", "links"],
                "properties": {
                    "doc_id": {"type": "string"},
                    "tenant": {"type": "string"},
                    "filename": {"type": "string"},
                    "status": {"type": "string", "const": "SUBMITTED"},
                    "links": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            },
            "Upload": {
                "type": "object",
                "required": ["doc_id", "upload_url", "method", "fields", "submit_url"],
                "properties": {
                    "doc_id": {"type": "string"},
                    "tenant": {"type": "string"},
                    "upload_url": {"type": "string", "format": "uri"},
                    "method": {"type": "string", "const": "POST"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                    "expires_at": {"type": "number", "description": "Unix time, seconds"},
                    "max_bytes": {"type": "integer"},
                    "submit_url": {"type": "string"},
                },
            },
            "Status": {
                "type": "object",
                "required": ["doc_id", "tenant", "status"],
                "properties": {
                    "doc_id": {"type": "string"},
                    "tenant": {"type": "string"},
                    "filename": {"type": ["string", "null"]},
                    "status": {"type": "string", "enum": ["SUBMITTED", "RUNNING", "OK", "PARTIAL", "FAILED"]},
                    "page_count": {"type": ["integer", "null"]},
                    "submitted_at": {"type": ["string", "null"], "format": "date-time"},
                    "updated_at": {"type": ["string", "null"], "format": "date-time"},
                    "stages": {"type": "object", "additionalProperties": {"type": "object"}},
                    "error_code": {"type": ["string", "null"]},
                },
            },
            "Document": {
                "allOf": [
                    _ref("Status"),
                    {
                        "type": "object",
                        "properties": {
                            "result": {
                                "type": ["object", "null"],
                                "description": "The DocumentCompleted event (schemas/avro/DocumentCompleted.avsc)",
                            },
                            "links": {"type": "object", "additionalProperties": {"type": "string"}},
                        },
                    },
                ]
            },
            "SqlResult": {
                "type": "object",
                "properties": {
                    "columns": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"name": {"type": "string"}, "type": {"type": "string"}},
                        },
                    },
                    "rows": {"type": "array", "items": {"type": "array"}},
                    "row_count": {"type": "integer"},
                    "truncated": {"type": "boolean"},
                    "elapsed_ms": {"type": "number"},
                },
            },
            "Lag": {
                "type": "object",
                "properties": {
                    "group": {"type": "string"},
                    "topics": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "total": {"type": "integer"},
                    "measured_at": {"type": ["number", "null"]},
                },
            },
        },
    },
}
