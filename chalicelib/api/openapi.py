"""The OpenAPI document served at /openapi.json, built from the request schemas."""

from __future__ import annotations

from typing import Any

from chalicelib.api.content_schemas import ParseIn, TemplateIn
from chalicelib.api.schemas import CampaignIn, LaunchIn

ERROR = {"$ref": "#/components/schemas/Error"}


def _op(summary: str, body: str | None = None, content_type: str = "application/json",
        params: list[str] | None = None, ok: str = "200") -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "security": [{"bearer": []}],
        "responses": {
            ok: {"description": "OK"},
            "400": {"description": "Invalid input", "content": {"application/json": {
                "schema": ERROR}}},
            "401": {"description": "Missing or invalid API key"},
            "403": {"description": "The key's role may not do this"},
            "404": {"description": "Not found (or another brand's)"},
        },
    }
    if body:
        schema = {"$ref": f"#/components/schemas/{body}"} if body != "text" else {
            "type": "string"}
        op["requestBody"] = {"required": True, "content": {content_type: {"schema": schema}}}
    if params:
        op["parameters"] = [{"name": p, "in": "query", "schema": {"type": "string"}}
                            for p in params]
    return op


def _recipient_paths(path_id: dict[str, Any]) -> dict[str, Any]:
    return {
        "/recipients/parse": {"post": _op(
            "Preview a typed list or small CSV (<= 1,000 rows): a result per line, nothing "
            "stored", "ParseIn")},
        "/campaigns/{id}/recipients/upload": {
            "post": _op("A pre-signed S3 PUT for the campaign's CSV (<= 100,000 rows); the "
                        "parse starts when the file lands (progress: GET /campaigns/{id} "
                        "upload)", ok="201"),
            "parameters": [path_id]},
        "/templates": {
            "post": _op("Create a WhatsApp template (admin), status DRAFT", "TemplateIn",
                        ok="201"),
            "get": _op("The brand's templates", params=["limit", "cursor", "status"])},
        "/templates/{id}": {"get": _op("A template, its approval status refreshed"),
                            "parameters": [path_id]},
        "/templates/{id}/submit": {"post": _op("Submit for WhatsApp approval (admin)"),
                                   "parameters": [path_id]},
    }


def document() -> dict[str, Any]:
    components: dict[str, Any] = {
        "CampaignIn": CampaignIn.model_json_schema(ref_template="#/components/schemas/{model}"),
        "LaunchIn": LaunchIn.model_json_schema(ref_template="#/components/schemas/{model}"),
        "TemplateIn": TemplateIn.model_json_schema(ref_template="#/components/schemas/{model}"),
        "ParseIn": ParseIn.model_json_schema(ref_template="#/components/schemas/{model}"),
        "Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {
            "code": {"type": "string"}, "message": {"type": "string"},
            "details": {"type": "array", "items": {"type": "object"}}}}}},
    }
    for model in (CampaignIn,):
        for name, schema in model.model_json_schema(
                ref_template="#/components/schemas/{model}").get("$defs", {}).items():
            components[name] = schema
    for schema in components.values():
        schema.pop("$defs", None)
    path_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    paths: dict[str, Any] = {
        "/campaigns": {
            "post": _op("Create a campaign (DRAFT)", "CampaignIn", ok="201"),
            "get": _op("List campaigns, recent first", params=["limit", "cursor"]),
        },
        "/campaigns/{id}": {"get": _op("A campaign with counts per recipient status"),
                            "parameters": [path_id]},
        "/campaigns/{id}/recipients": {
            "post": _op("Replace the recipients with a typed list (text/plain, <= 100 lines)",
                        "text", "text/plain"),
            "get": _op("Stored lines: accepted recipients, or with errors=true every rejected "
                       "line with its errors", params=["errors", "limit", "cursor"]),
            "parameters": [path_id]},
        "/campaigns/{id}/launch": {"post": _op("Launch (consent required)", "LaunchIn"),
                                   "parameters": [path_id]},
        "/campaigns/{id}/cancel": {"post": _op("Cancel: nothing pending goes out"),
                                   "parameters": [path_id]},
        "/campaigns/{id}/messages": {
            "get": _op("Recipients and their messages", params=["limit", "cursor", "status"]),
            "parameters": [path_id]},
    }
    paths.update(_recipient_paths(path_id))
    return {
        "openapi": "3.0.3",
        "info": {"title": "Proactive messaging API", "version": "1.0.0"},
        "components": {"schemas": components, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    }
