"""The OpenAPI document served at /openapi.json, built from the request schemas."""

from __future__ import annotations

from typing import Any

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


def document() -> dict[str, Any]:
    components: dict[str, Any] = {
        "CampaignIn": CampaignIn.model_json_schema(ref_template="#/components/schemas/{model}"),
        "LaunchIn": LaunchIn.model_json_schema(ref_template="#/components/schemas/{model}"),
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
            "parameters": [path_id]},
        "/campaigns/{id}/launch": {"post": _op("Launch (consent required)", "LaunchIn"),
                                   "parameters": [path_id]},
        "/campaigns/{id}/cancel": {"post": _op("Cancel: nothing pending goes out"),
                                   "parameters": [path_id]},
        "/campaigns/{id}/messages": {
            "get": _op("Recipients and their messages", params=["limit", "cursor", "status"]),
            "parameters": [path_id]},
    }
    paths.update(_analytics_paths(path_id))
    return {
        "openapi": "3.0.3",
        "info": {"title": "Proactive messaging API", "version": "1.0.0"},
        "components": {"schemas": components, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    }


# --- analytics and reports ----------------------------------------------------------------------

def _analytics_paths(path_id: dict[str, Any]) -> dict[str, Any]:
    ranges = ["range", "from", "to"]
    csv_note = (" (text/csv, UTF-8 with BOM; a large file answers JSON {url, method, filename, "
                "rows, bytes, expires_at}: a pre-signed download link)")
    return {
        "/analytics": {"get": _op(
            "Brand analytics in the brand's time zone: range=today|this_week|this_month|"
            "last_30_days|last_60_days|last_90_days|year_to_date or from/to (YYYY-MM-DD), "
            "skills=a,b; series per day, per hour for one day", params=[*ranges, "skills"])},
        "/campaigns/{id}/analytics": {"get": _op(
            "One campaign's analytics (default: its whole life)", params=ranges),
            "parameters": [path_id]},
        "/summary": {"get": _op("The brand's headline metrics (last 30 days) and campaigns "
                                "by status")},
        "/campaigns.csv": {"get": _op("Every campaign of the brand with its numbers" + csv_note)},
        "/campaigns/{id}/messages.csv": {"get": _op(
            "Every recipient and message of a campaign" + csv_note), "parameters": [path_id]},
    }
