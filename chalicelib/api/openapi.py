"""The OpenAPI document served at /openapi.json, built from the request schemas."""

from __future__ import annotations

from typing import Any

from chalicelib.api.content_schemas import ParseIn, TemplateIn
from chalicelib.api.inbound_schemas import AgentMessageIn
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
            "post": _op("A pre-signed S3 form POST for the campaign's CSV (<= 100,000 rows, "
                        "<= 50 MB): post `fields`, then the file as `file`, to `url`; the "
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


def _patch_schema(model: type[CampaignIn]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("required", None)
    schema.pop("$defs", None)
    schema["title"] = "CampaignPatchIn"
    schema["description"] = (
        "Any of CampaignIn's fields, as a JSON merge patch (RFC 7386): objects such as schedule "
        "merge member by member, null resets an optional field to its default. The merged "
        "campaign is checked as a whole, as on create.")
    return schema


def _patch_op() -> dict[str, Any]:
    op = _op("Change a DRAFT campaign. A change of channel, text, template_id or "
             "allow_multi_segment forgets a stored recipient list (recipients_cleared: true): "
             "give the list again", "CampaignPatchIn")
    op["responses"]["409"] = {"description": "The campaign is no longer a DRAFT"}
    return op


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
    components["CampaignPatchIn"] = _patch_schema(CampaignIn)
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
                            "patch": _patch_op(),
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
    _admin_paths(paths, components)
    paths.update(_inbound_paths(path_id))
    components["AgentMessageIn"] = AgentMessageIn.model_json_schema(
        ref_template="#/components/schemas/{model}")
    paths.update(_analytics_paths(path_id))
    paths.update(_recipient_paths(path_id))
    return {
        "openapi": "3.0.3",
        "info": {"title": "Proactive messaging API", "version": "1.0.0"},
        "components": {"schemas": components, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    }


# --- administration (issue 7) -----------------------------------------------------------------

def _admin_paths(paths: dict[str, Any], components: dict[str, Any]) -> None:
    from chalicelib.api.admin_schemas import (
        BrandSettingsIn,
        KeyIn,
        NumberIn,
        NumberPatchIn,
        SkillIn,
        SkillPatchIn,
    )

    for model in (BrandSettingsIn, NumberIn, NumberPatchIn, SkillIn, SkillPatchIn, KeyIn):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            components.setdefault(name, sub)
        components[model.__name__] = schema

    def admin(summary: str, body: str | None = None, ok: str = "200",
              params: list[str] | None = None) -> dict[str, Any]:
        op = _op(summary + " (admin only)", body, ok=ok, params=params)
        op["responses"]["409"] = {"description": "Conflicts with the current state"}
        return op

    def path_param(name: str) -> dict[str, Any]:
        return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}

    paths.update({
        "/brand": {"get": _op("The brand's settings and API limit (admins and campaign managers)"),
                   "put": admin("Change settings; omitted fields keep their value",
                                "BrandSettingsIn")},
        "/numbers": {"get": _op("Sender numbers (admins and campaign managers)"),
                     "post": admin("Add a sender number (E.164; unique across brands)",
                                   "NumberIn", ok="201")},
        "/numbers/{number}": {"patch": admin("Change a sender number's rate or whether its "
                                             "gateway answers STOP/START/HELP itself",
                                             "NumberPatchIn"),
                              "delete": admin("Remove a sender number (+ as %2B)"),
                              "parameters": [path_param("number")]},
        "/skills": {"get": _op("Skills (admins and campaign managers)"),
                    "post": admin("Create a skill", "SkillIn", ok="201")},
        "/skills/{id}": {"patch": admin("Rename, retire or restore a skill", "SkillPatchIn"),
                         "parameters": [path_param("id")]},
        "/keys": {"get": admin("API keys, without secrets, with last use"),
                  "post": admin("Create a key; its secret is shown once", "KeyIn", ok="201")},
        "/keys/{id}": {"delete": admin("Revoke a key (401 from its next request)"),
                       "parameters": [path_param("id")]},
        "/audit": {"get": admin("Audit log of admin changes, newest first",
                                params=["limit", "cursor"])},
    })
    for item in paths.values():
        for name, op in item.items():
            if name != "parameters":
                op["responses"].setdefault("413", {"description": "Body over 1 MB"})
                op["responses"].setdefault("429", {
                    "description": "Over the brand's API rate limit; see Retry-After"})
# --- replies, opt-outs, conversations (issue 5) ----------------------------------------------

def _webhook(summary: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "security": [],
        "parameters": [{"name": "X-Twilio-Signature", "in": "header", "required": True,
                        "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {
            "schema": {"type": "object", "additionalProperties": {"type": "string"}}}}},
        "responses": {"200": {"description": "Empty TwiML (also for a number no brand owns)"},
                      "403": {"description": "Signature missing or not valid for the exact "
                                             "public URL"}},
    }


def _inbound_paths(path_id: dict[str, Any]) -> dict[str, Any]:
    phone = {"name": "phone", "in": "path", "required": True, "schema": {"type": "string"},
             "description": "with country code, URL-encoded (%2B12125550101)"}
    return {
        "/webhooks/twilio/inbound": {"post": _webhook(
            "Gateway webhook: a consumer's message (keywords, conversations)")},
        "/webhooks/twilio/status": {"post": _webhook(
            "Gateway webhook: delivery status of a sent message")},
        "/optouts": {"get": _op("Opt-outs of the brand (admin); format=csv downloads them",
                                params=["limit", "cursor", "phone", "format"])},
        "/optouts/{phone}": {
            "put": _op("Opt a consumer out (admin); 201 new, 200 already", ok="200"),
            "delete": _op("Opt a consumer back in (admin); 404 if not opted out"),
            "parameters": [phone]},
        "/conversations": {"get": _op("Conversations, newest first (agents and above)",
                                      params=["skill", "status", "limit", "cursor"])},
        "/conversations/{id}": {"get": _op("A conversation: transcript with the outbound "
                                           "campaign message as context"),
                                "parameters": [path_id]},
        "/conversations/{id}/messages": {
            "post": _op("The agent's answer, sent on the conversation's channel and number",
                        "AgentMessageIn"),
            "parameters": [path_id]},
        "/conversations/{id}/close": {"post": _op("Close the conversation"),
                                      "parameters": [path_id]},
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
