"""The OpenAPI 3.1 document served at /openapi.json, generated from the code.

Paths and methods come from the Chalice route table (`document(app.routes)`): every route is an
operation of OPERATIONS or has a reason in EXCLUDED, and tests/contract/test_document.py fails
when the two disagree. Request and response schemas are the pydantic models' JSON schemas
(chalicelib/api/*_schemas.py, responses.py); every 4xx answer has the one `Error` schema of
chalicelib/api/errors.py. 3.1 because pydantic 2 writes JSON Schema 2020-12 (`{"type": "null"}`
in anyOf, numeric exclusiveMinimum), which is invalid in 3.0.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from chalicelib.api import responses as r
from chalicelib.api.inbound_schemas import AgentMessageIn
from chalicelib.api.params import MAX_LIMIT
from chalicelib.domain import analytics
from chalicelib.domain.admin_inputs import (
    BrandSettingsIn,
    KeyIn,
    NumberIn,
    NumberPatchIn,
    SkillIn,
    SkillPatchIn,
)
from chalicelib.domain.content_inputs import ParseIn, TemplateIn
from chalicelib.domain.inputs import CampaignIn, LaunchIn
from chalicelib.domain.integration_inputs import EndpointIn, RecipientsIn
from chalicelib.domain.sms_template_inputs import SmsTemplateIn, SmsTemplatePatchIn
from chalicelib.lp import responses as lp_r
from chalicelib.lp import schemas as lp_schemas
from chalicelib.services.auth import ADMIN_ROLES, AGENT_ROLES, TOOL_ROLES
from chalicelib.services.views import MESSAGE_STATUSES

REF = "#/components/schemas/{model}"
JSON = "application/json"
RATE_LIMIT_HEADERS = {"Retry-After": {
    "description": "seconds to wait before the next request", "required": True,
    "schema": {"type": "string", "pattern": "^[0-9]+$"}}}
# Routes that are not part of the integrators' API, with the reason.
EXCLUDED: dict[tuple[str, str], str] = {
    ("POST", "/webhooks/twilio/inbound"): "the gateway's webhook, signed with its auth token",
    ("POST", "/webhooks/twilio/status"): "the gateway's webhook, signed with its auth token",
    ("GET", "/"): "the web tool's page (HTML)",
    ("GET", "/ui/{name}"): "the web tool's static files",
    ("GET", "/ui/vendor/{name}"): "the web tool's vendored libraries (make web)",
    ("GET", "/docs"): "this document rendered for people (HTML)",
}
TEMPLATE_STATUSES = ("DRAFT", "PENDING", "APPROVED", "REJECTED", "PAUSED", "DISABLED")
RANGES = analytics.QUICK_RANGES


# --- query parameters, as chalicelib/api/params.py and the services read them -----------------

def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


LIMIT = _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 50},
               "page size")
CURSOR = _query("cursor", {"type": "string"},
                "opaque: the next_cursor of the previous page, unchanged (400 INVALID_CURSOR "
                "when it is not one); empty or absent: the first page")


def _enum(name: str, values: tuple[str, ...], description: str) -> dict[str, Any]:
    return _query(name, {"type": "string", "enum": list(values)}, description)


DATE = {"type": "string", "pattern": "^([0-9]{4}-[0-9]{2}-[0-9]{2})?$"}
RANGE_PARAMS = (
    _enum("range", RANGES, "a named range in the brand's time zone (default last_30_days); "
          "or from and to, not both"),
    _query("from", DATE, "first day, YYYY-MM-DD, with `to` (at most 366 days, from <= to)"),
    _query("to", DATE, "last day, YYYY-MM-DD, with `from`"),
)
PAGE = (LIMIT, CURSOR)


@dataclass(frozen=True)
class Op:
    summary: str
    response: type[BaseModel]
    body: type[BaseModel] | None = None
    ok: int = 200
    roles: tuple[str, ...] = TOOL_ROLES
    query: tuple[dict[str, Any], ...] = ()
    # Answers beyond those of every authenticated call (400 401 403 413 415 429).
    statuses: tuple[int, ...] = ()
    public: bool = False  # no API key
    media: tuple[str, ...] = (JSON,)
    csv: bool = False  # may answer text/csv instead of JSON
    examples: dict[str, Any] = field(default_factory=dict)
    # OpenAPI links from the success answer: name -> (operation, path parameter, body field).
    links: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    tag: str = ""  # the document's tag of the operation (none: untagged)
    lp: bool = False  # the LivePerson-compatible API: its AppJWT and LpError answers
    body_schema: dict[str, Any] | None = None  # a request schema that is no pydantic model
    # Takes an Idempotency-Key header (chalicelib/services/idempotency.py).
    idempotent: bool = False
    # A JSON body besides the text media of a text route (JSON recipients).
    json_body: type[BaseModel] | None = None
    json_examples: dict[str, Any] = field(default_factory=dict)


ADMIN = ADMIN_ROLES
AGENTS = AGENT_ROLES
CAMPAIGN_LINKS = {
    f"{name}": (operation, "campaign_id", "id") for name, operation in (
        ("GetCampaign", "GET /campaigns/{campaign_id}"),
        ("ChangeCampaign", "PATCH /campaigns/{campaign_id}"),
        ("AddRecipients", "POST /campaigns/{campaign_id}/recipients"),
        ("Launch", "POST /campaigns/{campaign_id}/launch"),
        ("Messages", "GET /campaigns/{campaign_id}/messages"),
        ("Cancel", "POST /campaigns/{campaign_id}/cancel"))}
NOT_FOUND = (404,)
CONFLICT = (404, 409)


def _operations() -> dict[tuple[str, str], Op]:
    c = "/campaigns/{campaign_id}"
    return {
        ("GET", "/api"): Op("The service's entry points", r.ServiceIndex, public=True),
        ("GET", "/health"): Op("Liveness", r.Health, public=True),
        ("GET", "/openapi.json"): Op("This document", r.OpenApiDocument, public=True),
        # campaigns
        ("POST", "/campaigns"): Op(
            "Create a campaign (DRAFT)", r.Campaign, CampaignIn, ok=201, idempotent=True,
            examples={"sms": {"name": "Winter sale", "channel": "sms",
                              "from_number": "+12125550100", "skill": "support",
                              "text": "Hi {{name}}, 20% off this week."}},
            links=CAMPAIGN_LINKS),
        ("GET", "/campaigns"): Op("Campaigns, recent first", r.CampaignPage, query=PAGE),
        ("GET", c): Op("A campaign with counts per recipient status", r.Campaign,
                       statuses=NOT_FOUND),
        ("PATCH", c): Op(
            "Change a DRAFT campaign (JSON merge patch, RFC 7386). A change of channel, text, "
            "template_id or allow_multi_segment forgets a stored recipient list "
            "(recipients_cleared: true): give the list again", r.CampaignPatched, CampaignIn,
            statuses=CONFLICT, media=(JSON, "application/merge-patch+json"),
            examples={"rename": {"name": "Winter sale (final)"}}),
        ("POST", c + "/recipients"): Op(
            "Replace the recipients with a typed list: one per line, the phone number with "
            "its country code, then name=value variables (text/plain, <= 100 lines; text/csv "
            "is read the same way). Or append recipients given as JSON (application/json, <= "
            "1,000 a request, 413 beyond; several requests append to the list until launch): "
            "all or nothing, 422 RECIPIENTS_REJECTED with details keyed by index "
            "(recipients.<index>) when any has errors; external_id is kept on the message",
            r.RecipientsStored, statuses=(404, 409, 422), media=("text/plain",), idempotent=True,
            examples={"two": "+12125550101,name=Ann\n+12125550102,name=Bob\n"},
            json_body=RecipientsIn, json_examples={"append": {"recipients": [
                {"phone": "+12125550101", "external_id": "crm-1"},
                {"phone": "+12125550102", "text": "Hi Bob, 20% off this week.",
                 "external_id": "crm-2"}]}},
            links={"Launch": CAMPAIGN_LINKS["Launch"]}),
        ("GET", c + "/recipients"): Op(
            "Stored lines: accepted recipients, or with errors=true every rejected line",
            r.RecipientPage, statuses=NOT_FOUND,
            query=(_enum("errors", ("true", "false"), "true: the rejected lines"), *PAGE)),
        ("POST", c + "/recipients/upload"): Op(
            "A pre-signed S3 form POST for the campaign's CSV (<= 100,000 rows, <= 50 MB); the "
            "parse starts "
            "when the file lands (progress: GET /campaigns/{id} upload)", r.UploadLink, ok=201,
            statuses=CONFLICT),
        ("POST", c + "/launch"): Op(
            "Launch: the brand confirms it holds opt-in consent. 409 when the campaign is not "
            "a DRAFT, has no recipients, rejected lines or an unfinished upload", r.Campaign,
            LaunchIn, statuses=CONFLICT, examples={"launch": {"consent": True}}, idempotent=True,
            links={"Messages": CAMPAIGN_LINKS["Messages"],
                   "GetCampaign": CAMPAIGN_LINKS["GetCampaign"]}),
        ("POST", c + "/cancel"): Op("Cancel: nothing pending goes out", r.Campaign,
                                    statuses=CONFLICT, idempotent=True),
        ("GET", c + "/messages"): Op(
            "Recipients and their messages", r.MessagePage, statuses=NOT_FOUND,
            query=(*PAGE, _enum("status", MESSAGE_STATUSES, "only messages in this status"))),
        ("GET", c + "/analytics"): Op("One campaign's analytics (default: its whole life)",
                                      r.Analytics, statuses=NOT_FOUND, query=RANGE_PARAMS),
        ("GET", c + "/messages.csv"): Op(
            "Every recipient and message of the campaign (text/csv, UTF-8 with BOM; a large "
            "file answers JSON: a pre-signed download link)", r.ExportLink,
            statuses=NOT_FOUND, csv=True),
        ("GET", "/campaigns.csv"): Op(
            "Every campaign of the brand with its numbers (text/csv, or a download link)",
            r.ExportLink, csv=True),
        ("POST", "/recipients/parse"): Op(
            "Preview a typed list or small CSV (<= 1,000 rows): a result per line, nothing "
            "stored", r.ParseResult, ParseIn, statuses=(404, 422),
            examples={"preview": {"channel": "sms", "text": "Hi {{name}}",
                                  "content": "+12125550101,name=Ann"}}),
        # templates
        ("POST", "/templates"): Op(
            "Create a WhatsApp template, status DRAFT", r.Template, TemplateIn, ok=201,
            idempotent=True, statuses=(409,),
            examples={"greeting": {"name": "order_ready", "language": "en",
                                   "category": "UTILITY",
                                   "body": "Hi {{1}}, your order is ready."}},
            links={"GetTemplate": ("GET /templates/{template_id}", "template_id", "id"),
                   "Submit": ("POST /templates/{template_id}/submit", "template_id", "id")}),
        ("GET", "/templates"): Op(
            "The brand's templates", r.TemplatePage,
            query=(*PAGE, _enum("status", (*TEMPLATE_STATUSES, "ARCHIVED"),
                                "only templates in this status (archived ones are listed only "
                                "with ARCHIVED)"))),
        ("GET", "/templates/{template_id}"): Op("A template, its approval status refreshed",
                                                r.Template, statuses=NOT_FOUND),
        ("POST", "/templates/{template_id}/submit"): Op(
            "Submit for WhatsApp approval", r.Template, statuses=CONFLICT),
        ("POST", "/templates/{template_id}/archive"): Op(
            "Archive: out of the wizard's list, approval unchanged; campaigns using it keep it",
            r.Template, roles=ADMIN, statuses=CONFLICT),
        ("POST", "/templates/{template_id}/unarchive"): Op(
            "Restore an archived template to the lists", r.Template, roles=ADMIN,
            statuses=CONFLICT),
        ("DELETE", "/templates/{template_id}"): Op(
            "Delete a template; 409 TEMPLATE_IN_USE while a DRAFT, SCHEDULED or RUNNING "
            "campaign uses it", r.TemplateDeleted, roles=ADMIN, statuses=CONFLICT),
        # administration
        ("GET", "/brand"): Op("The brand's settings and API limit", r.Brand),
        ("PUT", "/brand"): Op("Change settings; omitted fields keep their value", r.Brand,
                              BrandSettingsIn, roles=ADMIN),
        ("GET", "/numbers"): Op("Sender numbers", r.SenderNumberList),
        ("POST", "/numbers"): Op(
            "Add a sender number (unique across brands)", r.SenderNumber, NumberIn, ok=201,
            roles=ADMIN, statuses=(409,),
            links={"ChangeNumber": ("PATCH /numbers/{number}", "number", "number"),
                   "RemoveNumber": ("DELETE /numbers/{number}", "number", "number")}),
        ("PATCH", "/numbers/{number}"): Op(
            "Change a sender number's rate or whether its gateway answers STOP/START/HELP",
            r.SenderNumber, NumberPatchIn, roles=ADMIN, statuses=NOT_FOUND),
        ("DELETE", "/numbers/{number}"): Op("Remove a sender number (+ as %2B)",
                                            r.NumberRemoved, roles=ADMIN, statuses=CONFLICT),
        ("GET", "/skills"): Op("Skills", r.SkillList),
        ("POST", "/skills"): Op(
            "Create a skill", r.Skill, SkillIn, ok=201, roles=ADMIN, statuses=(409,),
            links={"ChangeSkill": ("PATCH /skills/{skill_id}", "skill_id", "id")}),
        ("PATCH", "/skills/{skill_id}"): Op("Rename, retire or restore a skill", r.Skill,
                                            SkillPatchIn, roles=ADMIN, statuses=CONFLICT),
        ("GET", "/keys"): Op("API keys, without secrets, with last use", r.ApiKeyList,
                             roles=ADMIN),
        ("POST", "/keys"): Op("Create a key; its secret is shown once", r.ApiKeyCreated, KeyIn,
                              ok=201, roles=ADMIN,
                              examples={"agent": {"role": "agent", "label": "Help desk"}},
                              links={"Revoke": ("DELETE /keys/{key_id}", "key_id", "id")}),
        ("DELETE", "/keys/{key_id}"): Op("Revoke a key (401 from its next request)", r.ApiKey,
                                         roles=ADMIN, statuses=CONFLICT),
        ("GET", "/audit"): Op("Audit log of admin changes, newest first", r.AuditPage,
                              roles=ADMIN, query=PAGE),
        # opt-outs and conversations
        ("GET", "/optouts"): Op(
            "Opt-outs of the brand; format=csv downloads them (X-Next-Cursor: the next part)",
            r.OptOutPage, roles=ADMIN, csv=True,
            query=(*PAGE, _query("phone", {"type": "string"}, "only this number"),
                   _enum("format", ("json", "csv"), "csv: a download"))),
        ("PUT", "/optouts/{phone}"): Op("Opt a consumer out; 201 new, 200 already", r.OptOut,
                                        roles=ADMIN, statuses=(201,)),
        ("DELETE", "/optouts/{phone}"): Op("Opt a consumer back in; 404 if not opted out",
                                           r.OptedIn, roles=ADMIN, statuses=NOT_FOUND),
        ("GET", "/conversations"): Op(
            "Conversations, newest first", r.ConversationPage, roles=AGENTS,
            query=(_query("skill", {"type": "string"}, "only this skill"),
                   _enum("status", ("open", "closed"), "open or closed"), *PAGE)),
        ("GET", "/conversations/{conversation_id}"): Op(
            "A conversation: transcript with the outbound campaign message as context",
            r.Conversation, roles=AGENTS, statuses=NOT_FOUND),
        ("POST", "/conversations/{conversation_id}/messages"): Op(
            "The agent's answer, sent on the conversation's channel and number", r.Conversation,
            AgentMessageIn, roles=AGENTS, statuses=(404, 409, 422)),
        ("POST", "/conversations/{conversation_id}/close"): Op(
            "Close the conversation", r.Conversation, roles=AGENTS, statuses=CONFLICT),
        # analytics
        ("GET", "/analytics"): Op(
            "Brand analytics in the brand's time zone: series per day, per hour for one day",
            r.Analytics, query=(*RANGE_PARAMS, _query(
                "skills", {"type": "string"}, "comma-separated skill ids of the brand"))),
        ("GET", "/summary"): Op("The brand's headline metrics (last 30 days) and campaigns "
                                "by status", r.Summary),
    }


def _integration_operations() -> dict[tuple[str, str], Op]:
    """Events to the brand's own systems (docs/api.md: the signature scheme)."""
    return {
        ("POST", "/event-endpoints"): Op(
            "Register a webhook endpoint for events; its signing secret is shown once",
            r.EndpointCreated, EndpointIn, ok=201, roles=ADMIN, statuses=(409,),
            examples={"crm": {"url": "https://crm.example.com/proactive-events",
                              "events": ["message.delivered", "consumer.opted_out"]}},
            links={"Delete": ("DELETE /event-endpoints/{endpoint_id}", "endpoint_id", "id")}),
        ("GET", "/event-endpoints"): Op("The brand's webhook endpoints (without secrets)",
                                        r.EndpointList, roles=ADMIN),
        ("DELETE", "/event-endpoints/{endpoint_id}"): Op(
            "Remove a webhook endpoint (its queued deliveries are dropped)", r.EndpointDeleted,
            roles=ADMIN, statuses=NOT_FOUND),
        ("GET", "/event-deliveries/failed"): Op(
            "Deliveries that failed for 24 h (dead letters), newest first", r.FailedDeliveryPage,
            roles=ADMIN, query=PAGE),
        ("POST", "/event-deliveries/failed/{delivery_id}/redeliver"): Op(
            "Queue a failed delivery again (another 24 h of retries)", r.Redelivered,
            roles=ADMIN, statuses=NOT_FOUND),
    }


OPERATIONS = {**_operations(), **_integration_operations()}

E164_PATTERN = r"^\+[1-9][0-9]{7,14}$"
PATH_PARAMS = {
    "number": {"type": "string", "description": "E.164 (+ as %2B) or a short code"},
    "phone": {"type": "string", "pattern": E164_PATTERN,
              "description": "E.164 with country code, URL-encoded (%2B12125550101)"},
}


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "pattern": "^[!-~]{1,255}$", "minLength": 1,
               "maxLength": 255},
    "description": (
        "optional, e.g. a UUID: a retry with the same key and the same request gets the first "
        "answer again (header Idempotent-Replayed: true) and runs nothing; the same key with "
        "another request: 422 IDEMPOTENCY_KEY_REUSED; while the first request still runs: 409 "
        "IDEMPOTENCY_KEY_IN_USE. Kept 24 h per brand. 409, 429 and 5xx answers are not kept: "
        "a retry runs.")}


def _path_params(path: str) -> list[dict[str, Any]]:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    return [{"name": n, "in": "path", "required": True,
             "schema": PATH_PARAMS.get(n, {"type": "string", "minLength": 1})} for n in names]


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description, "content": {
        JSON: {"schema": {"$ref": REF.format(model="Error")}}}}
    if headers:
        answer["headers"] = headers
    return answer


ERRORS: dict[int, dict[str, Any]] = {
    400: _error("Invalid input: the body, a parameter or a rule (details name the fields)"),
    401: _error("Missing, unknown or revoked API key"),
    403: _error("The key's role may not do this"),
    404: _error("Not found (or another brand's)"),
    409: _error("Conflicts with the current state (e.g. no longer a DRAFT, already exists)"),
    413: _error("Body over the route's limit (1 MB)"),
    415: _error("Content-Type not accepted by this route"),
    422: _error("Well-formed but cannot be processed (e.g. a list's CSV cannot be read, the "
                "gateway refused the message)"),
    429: _error("Over the brand's API rate limit: retry after Retry-After seconds",
                RATE_LIMIT_HEADERS),
}


def _operation(method: str, path: str, op: Op) -> dict[str, Any]:
    if op.lp:
        return _lp_operation(method, path, op)
    ok_content: dict[str, Any] = {JSON: {"schema": {"$ref": REF.format(
        model=op.response.__name__)}}}
    if op.csv:
        ok_content["text/csv"] = {"schema": {"type": "string"}}
    answers: dict[str, Any] = {str(op.ok): {"description": "OK", "content": ok_content}}
    if op.links:
        answers[str(op.ok)]["links"] = {name: {
            "operationId": operation_id(*target.split(" ")),
            "parameters": {parameter: f"$response.body#/{source}"}}
            for name, (target, parameter, source) in op.links.items()}
    statuses = set(op.statuses) - {201}
    if op.idempotent:
        statuses |= {409, 422}
    if 201 in op.statuses:
        answers["201"] = {"description": "Created", "content": ok_content}
    if not op.public:
        statuses |= {400, 401, 403, 413, 415, 429}
    for status in sorted(statuses):
        answers[str(status)] = ERRORS[status]
    description = f"Roles: {', '.join(op.roles)}." if not op.public else "No API key needed."
    out: dict[str, Any] = {
        "operationId": operation_id(method, path),
        "summary": op.summary, "description": description, "responses": answers,
        "security": [] if op.public else [{"bearer": []}],
    }
    parameters = [*_path_params(path), *op.query,
                  *([IDEMPOTENCY_KEY] if op.idempotent else [])]
    if parameters:
        out["parameters"] = parameters
    if op.tag:
        out["tags"] = [op.tag]
    if op.body is not None or op.media != (JSON,):
        schema: dict[str, Any] = ({"$ref": REF.format(model=_body_name(method, op))}
                                  if op.body else {"type": "string", "description": (
                                      "the lines; an empty body clears the list")})
        content: dict[str, Any] = {}
        for media in op.media:
            content[media] = {"schema": schema}
            if op.examples:
                content[media]["examples"] = {k: {"value": v} for k, v in op.examples.items()}
        if op.json_body is not None:
            content[JSON] = {"schema": {"$ref": REF.format(model=op.json_body.__name__)},
                             "examples": {k: {"value": v} for k, v in op.json_examples.items()}}
        out["requestBody"] = {"required": True, "content": content}
    return out


def operation_id(method: str, path: str) -> str:
    words = path.replace("{", "").replace("}", "").replace(".", "_").strip("/").split("/")
    return "_".join([method.lower(), *words])


def _body_name(method: str, op: Op) -> str:
    assert op.body is not None
    return "CampaignPatchIn" if (method, op.body) == ("PATCH", CampaignIn) else op.body.__name__


# --- schemas ----------------------------------------------------------------------------------

def _strip_rule(schema: Any) -> None:
    """Request strings are stripped before their length is checked (Strict models): a
    required text must hold something besides white space."""
    if isinstance(schema, dict):
        if schema.get("type") == "string" and schema.get("minLength") == 1 \
                and "pattern" not in schema and "enum" not in schema:
            schema["pattern"] = r"\S"
        for value in schema.values():
            _strip_rule(value)
    elif isinstance(schema, list):
        for value in schema:
            _strip_rule(value)


def _add_model(components: dict[str, Any], model: type[BaseModel], mode: str) -> None:
    schema = model.model_json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
    for name, sub in schema.pop("$defs", {}).items():
        components.setdefault(name, sub)
    components[model.__name__] = schema


def _channel_rules(schema: dict[str, Any], fallback: bool) -> dict[str, Any]:
    """The channel rules of CampaignIn's (`fallback`) and ParseIn's validators as JSON Schema,
    so that a body valid by the document is valid for the API: SMS needs text, WhatsApp and
    prioritized a template, and only prioritized a fallback number."""
    present = {"type": "string", "minLength": 1, "pattern": r"\S"}
    absent = {"type": "null"} if fallback else {}
    variants = [("sms", {"text": present}), ("whatsapp", {"template_id": present}),
                ("prioritized", {"template_id": present, "fallback_from_number": present})]
    schema["oneOf"] = []
    for channel, needed in variants:
        if not fallback:
            needed.pop("fallback_from_number", None)
        rules = {"channel": {"const": channel}, **needed}
        if fallback and "fallback_from_number" not in needed:
            rules["fallback_from_number"] = absent
        schema["oneOf"].append({"properties": rules, "required": sorted(needed)})
    return schema


def _patch_schema(schema: dict[str, Any]) -> dict[str, Any]:
    patch = copy.deepcopy(schema)
    patch.pop("required", None)
    patch.pop("oneOf", None)
    patch["title"] = "CampaignPatchIn"
    patch["minProperties"] = 1
    patch["description"] = (
        "Any of CampaignIn's fields, as a JSON merge patch (RFC 7386): objects such as schedule "
        "merge member by member, null resets an optional field to its default. The merged "
        "campaign is checked as a whole, as on create (the channel rules of CampaignIn).")
    return patch


def _schemas() -> dict[str, Any]:
    components: dict[str, Any] = {}
    requests = {op.body for op in OPERATIONS.values() if op.body is not None}
    requests |= {op.json_body for op in OPERATIONS.values() if op.json_body is not None}
    for model in sorted(requests, key=lambda m: m.__name__):
        _add_model(components, model, "validation")
    _strip_rule(components)
    components["CampaignIn"] = _channel_rules(components["CampaignIn"], fallback=True)
    components["ParseIn"] = _channel_rules(components["ParseIn"], fallback=False)
    components["CampaignPatchIn"] = _patch_schema(components["CampaignIn"])
    answers: set[type[BaseModel]] = {op.response for op in OPERATIONS.values()}
    answers |= {r.Error, lp_r.LpError}
    for model in sorted(answers, key=lambda m: m.__name__):
        _add_model(components, model, "serialization")
    for op in OPERATIONS.values():
        if op.body_schema is not None:
            components[op.body_schema["title"]] = op.body_schema
    return components


def document(routes: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The document for the routes of the app (all of OPERATIONS when not given)."""
    wanted = set(OPERATIONS) if routes is None else {
        (method, path) for path, methods in routes.items() for method in methods}
    paths: dict[str, Any] = {}
    for (method, path), op in OPERATIONS.items():
        if (method, path) in wanted:
            paths.setdefault(path, {})[method.lower()] = _operation(method, path, op)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Proactive messaging API", "version": "1.0.0", "description": (
            "Proactive SMS and WhatsApp campaigns. Authenticate with `Authorization: Bearer "
            "<API key>`. Every 4xx answer is JSON with the `Error` schema; 429 carries "
            "Retry-After. Human-readable: /docs.")},
        "components": {"schemas": _schemas(), "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "description": "an API key"},
            "appJwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                       "description": "LivePerson-compatible paths only: the access_token of "
                       "POST /sentinel/api/account/{accountId}/app/token"}}},
        "tags": [{"name": LP_TAG, "description": (
            "A drop-in for clients of LivePerson's Proactive Messaging 2.0 API: the same token "
            "flow, paths, bodies and statuses (docs/lp-compatible.md, \"Moving from "
            "LivePerson\"). Errors have the LpError shape.")}],
        "paths": paths,
    }


# --- the LivePerson-compatible API, API client credentials, SMS templates ----------

LP_TAG = "LivePerson compatible"
LP_ACCOUNT = "/api/v2/account/{accountId}"
LP_REPORTING = "/api/account/{accountId}/app/prmsg"
LP_CREATE_EXAMPLE = {
    "campaignName": "Renewal reminder", "skill": "support", "templateId": "1234567890",
    "outboundNumber": "12125550100", "consent": True,
    "consumers": [
        {"consumerContent": {"sms": "+12125550101"}, "variables": {"1": "Ann"}},
        {"consumerCountryCode": "1", "consumerPhoneNumber": "2125550102",
         "variables": {"1": "Bob"}}],
    "schedulingMetrics": {"windows": [
        {"startTime": {"hour": 8, "minute": 0}, "endTime": {"hour": 21, "minute": 0},
         "day": "MONDAY"}]},
}


def _lp_error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description, "content": {
        JSON: {"schema": {"$ref": REF.format(model="LpError")}}}}
    if headers:
        answer["headers"] = headers
    return answer


LP_ERRORS: dict[int, dict[str, Any]] = {
    400: _lp_error("Invalid request: `Fields missing in request: <field>`, a wrong type, or no "
                   "consumer accepted (failedConsumers says why)"),
    401: _lp_error("Missing, invalid or expired token (`jwt expired`), a token of another "
                   "account, or wrong client credentials"),
    404: _lp_error("No such campaign in this account"),
    409: _lp_error("The campaign changed meanwhile"),
    413: _lp_error("More than 100 consumers, or a body over 1 MB"),
    429: _lp_error("Over the account's 10 requests/s: retry after Retry-After seconds",
                   RATE_LIMIT_HEADERS),
}


def _lp_operation(method: str, path: str, op: Op) -> dict[str, Any]:
    answers: dict[str, Any] = {str(op.ok): {"description": "OK", "content": {JSON: {
        "schema": {"$ref": REF.format(model=op.response.__name__)}}}}}
    for status in sorted({400, 401, 429, *op.statuses}):
        answers[str(status)] = LP_ERRORS[status]
    answers["415"] = ERRORS[415]  # chalice answers it before the route, in our Error shape
    out: dict[str, Any] = {
        "operationId": operation_id(method, path), "summary": op.summary, "tags": [LP_TAG],
        "description": ("No API key: the client credentials of the account." if op.public else
                        "The AppJWT of the token endpoint; it acts as the account's campaign "
                        "manager."),
        "responses": answers, "security": [] if op.public else [{"appJwt": []}],
    }
    parameters = [*_path_params(path), *op.query]
    if parameters:
        out["parameters"] = parameters
    if op.body_schema is not None:
        content: dict[str, dict[str, Any]] = {
            media: {"schema": {"$ref": REF.format(model=op.body_schema["title"])}}
            for media in op.media}
        for media in content.values():
            if op.examples:
                media["examples"] = {k: {"value": v} for k, v in op.examples.items()}
        out["requestBody"] = {"required": method == "POST" and not op.public,
                              "content": content}
    return out


def _issue17_operations() -> dict[tuple[str, str], Op]:
    epoch = {"type": "string", "pattern": "^[0-9]*$"}
    report = f"{LP_REPORTING}/campaigns/{{proactiveCampaignId}}"
    analytics_query = (
        _query("attemptedStartTime", epoch, "epoch milliseconds (default: a week before the "
               "end)"),
        _query("attemptedEndTime", epoch, "epoch milliseconds (default: now); at most 60 days "
               "after the start"))
    return {
        ("POST", "/sentinel/api/account/{accountId}/app/token"): Op(
            "Access token (AppJWT, 1 hour) for the account's API client credentials",
            lp_r.LpToken, public=True, lp=True, body_schema=lp_schemas.TOKEN_BODY_SCHEMA,
            media=("application/x-www-form-urlencoded",),
            query=(_query("v", {"type": "string"}, "1.0"),
                   _query("grant_type", {"type": "string", "enum": ["client_credentials"]},
                          "client_credentials"),
                   _query("client_id", {"type": "string"}, "or in the form body"),
                   _query("client_secret", {"type": "string"}, "or in the form body")),
            examples={"form": {"grant_type": "client_credentials",
                               "client_id": "3f1c0a9e6b7d4c2a9e8f1b2c3d4e5f60",
                               "client_secret": "lps_Xq3...shown-once..."}}),
        ("POST", f"{LP_ACCOUNT}/campaign"): Op(
            "Create and launch a campaign for up to 100 consumers; validation per consumer",
            lp_r.LpCampaignCreated, lp=True, statuses=(409, 413),
            body_schema=lp_schemas.CREATE_BODY_SCHEMA, examples={"sms": LP_CREATE_EXAMPLE}),
        ("GET", f"{LP_ACCOUNT}/campaign/{{proactiveCampaignId}}/conversations"): Op(
            "The campaign's status and each accepted consumer's", lp_r.LpConversations,
            lp=True, statuses=(404,)),
        ("GET", report): Op(
            "The campaign report, a page of consumers", lp_r.LpCampaignReport, lp=True,
            statuses=(404,),
            query=(_query("offset", {"type": "integer", "minimum": 0}, "default 0"),
                   _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000},
                          "default 100"))),
        ("GET", f"{report}/analytics"): Op(
            "The campaign's figures from our counters", lp_r.LpAnalytics, lp=True,
            statuses=(404,)),
        ("GET", f"{LP_REPORTING}/analytics"): Op(
            "The account's figures per channel, skill and day", lp_r.LpAnalytics, lp=True,
            query=analytics_query),
        ("POST", f"{LP_REPORTING}/analytics"): Op(
            "The account's figures, filtered by channels and skills", lp_r.LpAnalytics,
            lp=True, query=analytics_query, body_schema={
                "title": "LpAnalyticsFilterIn", "type": "object", "properties": {
                    "filters": {"type": "object", "properties": {
                        "channels": {"type": "array", "items": {"type": "string"}},
                        "skills": {"type": "array", "items": {"type": "string"}}}}}},
            examples={"sms": {"filters": {"channels": ["sms"], "skills": ["support"]}}}),
        # the brand's API client (Settings, "Enable API")
        ("GET", "/api-client"): Op("The brand's API client for the LivePerson-compatible API",
                                   lp_r.ApiClient, roles=ADMIN),
        ("POST", "/api-client"): Op("Enable the API: a client id and secret, the secret shown "
                                    "once", lp_r.ApiClientCreated, ok=201, roles=ADMIN,
                                    statuses=(409,)),
        ("POST", "/api-client/rotate"): Op(
            "A new client id and secret; tokens of the old ones stop working",
            lp_r.ApiClientCreated, roles=ADMIN, statuses=NOT_FOUND),
        ("DELETE", "/api-client"): Op("Revoke the API client (and its tokens)", lp_r.ApiClient,
                                      roles=ADMIN, statuses=NOT_FOUND),
        # SMS templates
        ("POST", "/sms-templates"): Op(
            "Create an SMS template (no approval step; the brand's first is its default)",
            lp_r.SmsTemplate, SmsTemplateIn, ok=201, roles=ADMIN, statuses=(409,),
            examples={"reminder": {"name": "Renewal reminder",
                                   "text": "Hi {{1}}, your plan renews on {{2}}."}}),
        ("GET", "/sms-templates"): Op("The brand's SMS templates", lp_r.SmsTemplatePage,
                                      query=PAGE),
        ("GET", "/sms-templates/{template_id}"): Op(
            "An SMS template (1234567890: the brand's default)", lp_r.SmsTemplate,
            statuses=NOT_FOUND),
        ("PATCH", "/sms-templates/{template_id}"): Op(
            "Change an SMS template's name or text, or make it the default", lp_r.SmsTemplate,
            SmsTemplatePatchIn, roles=ADMIN, statuses=CONFLICT),
        ("DELETE", "/sms-templates/{template_id}"): Op(
            "Delete an SMS template", lp_r.SmsTemplateDeleted, roles=ADMIN,
            statuses=NOT_FOUND),
    }


OPERATIONS.update(_issue17_operations())
