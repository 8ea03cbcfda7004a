"""Routes and event handlers only: each parses its input, calls one chalicelib function and
shapes the result. Business rules live in chalicelib/services and chalicelib/domain."""

from __future__ import annotations

import functools
import json
from typing import Any

from chalice import Chalice, Response  # type: ignore[attr-defined]

from chalicelib import config
from chalicelib.api import errors, openapi, params, request_limits, static
from chalicelib.api.admin_schemas import (
    BrandSettingsIn,
    KeyIn,
    NumberIn,
    NumberPatchIn,
    SkillIn,
    SkillPatchIn,
)
from chalicelib.api.content_schemas import ParseIn, TemplateIn
from chalicelib.api.schemas import CampaignIn, LaunchIn, parse_body, read_object
from chalicelib.logging import correlated, logger
from chalicelib.services import (
    admin,
    analytics,
    audit_log,
    auth,
    campaigns,
    dispatch,
    idempotency,
    jobs,
    keys,
    metrics,
    ratelimit,
    recipients,
    reconcile,
    release,
    reports,
)
from chalicelib.services import templates as whatsapp_templates
from chalicelib.services.views import MESSAGE_STATUSES

app = Chalice(app_name="proactive")
app.register_middleware(correlated, "all")  # request/correlation ids, EMF flush
TEMPLATE_STATUSES = ("DRAFT", "PENDING", "APPROVED", "REJECTED", "PAUSED", "DISABLED")


def route(path: str, max_body_bytes: int = request_limits.MAX_BODY_BYTES, **kwargs: Any) -> Any:
    """app.route, with domain errors answered as JSON (chalicelib/api/errors.py) and bodies over
    `max_body_bytes` refused with 413."""

    def register(view: Any) -> Any:
        @functools.wraps(view)
        def limited(*args: Any, **kw: Any) -> Any:
            request_limits.check_body_size(app.current_request, max_body_bytes)
            return view(*args, **kw)

        # JSON bodies are read as JSON whatever the declared type: `curl -d '{...}'` (sent as
        # form-urlencoded) gets a clear answer about the body, not chalice's bare 415.
        kwargs.setdefault("content_types", ["application/json",
                                            "application/x-www-form-urlencoded"])
        return app.route(path, **kwargs)(errors.json_errors(limited))

    return register


def _principal(roles: tuple[str, ...]) -> auth.Principal:
    """The caller's key, within its brand's API rate limit (429 beyond), in one of `roles`."""
    headers = app.current_request.headers  # type: ignore[union-attr]
    principal = auth.authenticate(headers.get("authorization"))
    ratelimit.check(principal.brand_id)
    return auth.require(principal, roles)


def _request() -> Any:
    return app.current_request


def _once(principal: auth.Principal, view: Any) -> Response:
    """`view()`'s answer, once per Idempotency-Key of the brand (chalicelib/services/
    idempotency.py): a retry with the key gets the first answer again."""
    request = _request()
    key = (request.headers or {}).get(idempotency.HEADER.lower())
    answered = errors.json_errors(view)
    if key is None:
        response = answered()
        return response if isinstance(response, Response) else Response(body=response)
    fingerprint = idempotency.fingerprint(
        request.method, (request.context or {}).get("path") or json.dumps(request.uri_params),
        request.headers.get("content-type"), request.raw_body)

    def call() -> idempotency.Answer:
        response = answered()
        if not isinstance(response, Response):
            return idempotency.Answer(200, response)
        return idempotency.Answer(response.status_code, response.body,
                                  headers=dict(response.headers or {}))

    answer = idempotency.run(principal.brand_id, key, fingerprint, call)
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else answer.headers
    return Response(body=answer.body, status_code=answer.status, headers=headers)


# --- service ----------------------------------------------------------------------------------

@route("/api")
def index() -> dict[str, Any]:
    return {"service": "proactive messaging", "openapi": "/openapi.json", "docs": "/docs",
            "health": "/health", "web_tool": "/"}


@route("/health")
def health() -> dict[str, Any]:
    return {"ok": True, "stage": config.get_settings().stage}


@route("/openapi.json")
def openapi_document() -> dict[str, Any]:
    return openapi.document(app.routes)


@route("/docs")
def api_docs() -> Response:
    text, headers = static.docs_page(_request().context.get("path") or "/docs")
    return Response(body=text, headers=headers)


@app.middleware("http")
def chalice_errors_as_json(event: Any, get_response: Any) -> Any:
    # Chalice answers 405 and 415 itself, before any view: the same Error body as ours.
    return errors.reshape_chalice_error(get_response(event))


# --- campaigns --------------------------------------------------------------------------------

@route("/campaigns", methods=["POST"])
def create_campaign() -> Response:
    principal = _principal(auth.TOOL_ROLES)
    return _once(principal, lambda: Response(
        body=campaigns.create(principal, parse_body(CampaignIn, _request().raw_body)),
        status_code=201))


@route("/campaigns", methods=["GET"])
def list_campaigns() -> dict[str, Any]:
    principal = _principal(auth.TOOL_ROLES)
    query = _request().query_params
    return campaigns.list_page(principal, params.limit(query), params.optional(query, "cursor"))


@route("/campaigns/{campaign_id}", methods=["GET"])
def get_campaign(campaign_id: str) -> dict[str, Any]:
    return campaigns.get(_principal(auth.TOOL_ROLES), campaign_id)


@route("/campaigns/{campaign_id}", methods=["PATCH"],
       content_types=["application/json", "application/merge-patch+json",
                      "application/x-www-form-urlencoded"])
def update_campaign(campaign_id: str) -> dict[str, Any]:
    principal = _principal(auth.TOOL_ROLES)
    return campaigns.update_draft(principal, campaign_id, read_object(_request().raw_body))


@route("/campaigns/{campaign_id}/recipients", methods=["POST"],
           content_types=["text/plain", "text/csv", "application/octet-stream",
                          "application/json"])
def add_recipients(campaign_id: str) -> Response:
    principal = _principal(auth.TOOL_ROLES)
    raw = _request().raw_body or b""
    media = (_request().headers.get("content-type") or "").split(";")[0].strip().lower()
    if media == "application/json":  # appended (issue 16.4)
        return _once(principal, lambda: recipients.append_json(principal, campaign_id, raw))
    return _once(principal, lambda: campaigns.set_typed_recipients(
        principal, campaign_id, raw.decode("utf-8", errors="replace")))


@route("/campaigns/{campaign_id}/launch", methods=["POST"])
def launch_campaign(campaign_id: str) -> Response:
    principal = _principal(auth.TOOL_ROLES)
    return _once(principal, lambda: campaigns.launch(principal, campaign_id,
                                                     parse_body(LaunchIn, _request().raw_body)))


@route("/campaigns/{campaign_id}/cancel", methods=["POST"])
def cancel_campaign(campaign_id: str) -> Response:
    principal = _principal(auth.TOOL_ROLES)
    return _once(principal, lambda: campaigns.cancel(principal, campaign_id))


@route("/campaigns/{campaign_id}/messages", methods=["GET"])
def campaign_messages(campaign_id: str) -> dict[str, Any]:
    principal = _principal(auth.TOOL_ROLES)
    query = _request().query_params
    return campaigns.messages_page(principal, campaign_id, params.limit(query),
                                   params.optional(query, "cursor"),
                                   params.one_of(query, "status", MESSAGE_STATUSES))


# --- administration (issue 7): admins only, except the lists the campaign wizard needs ---------

@route("/brand", methods=["GET"])
def get_brand() -> dict[str, Any]:
    # Campaign managers read the settings too: the wizard counts the opt-out text and shows the
    # default window. Only admins change them.
    return admin.get_brand(_principal(auth.TOOL_ROLES))


@route("/brand", methods=["PUT"])
def update_brand() -> dict[str, Any]:
    principal = _principal(auth.ADMIN_ROLES)
    return admin.update_brand(principal, parse_body(BrandSettingsIn, _request().raw_body))


@route("/numbers", methods=["GET"])
def list_numbers() -> dict[str, Any]:
    return admin.list_numbers(_principal(auth.TOOL_ROLES))


@route("/numbers", methods=["POST"])
def add_number() -> Response:
    principal = _principal(auth.ADMIN_ROLES)
    number = admin.add_number(principal, parse_body(NumberIn, _request().raw_body))
    return Response(body=number, status_code=201)


@route("/numbers/{number}", methods=["PATCH"])
def update_number(number: str) -> dict[str, Any]:
    principal = _principal(auth.ADMIN_ROLES)
    return admin.update_number(principal, number,
                               parse_body(NumberPatchIn, _request().raw_body))


@route("/numbers/{number}", methods=["DELETE"])
def remove_number(number: str) -> dict[str, Any]:
    return admin.remove_number(_principal(auth.ADMIN_ROLES), number)


@route("/skills", methods=["GET"])
def list_skills() -> dict[str, Any]:
    return admin.list_skills(_principal(auth.TOOL_ROLES))


@route("/skills", methods=["POST"])
def create_skill() -> Response:
    principal = _principal(auth.ADMIN_ROLES)
    skill = admin.create_skill(principal, parse_body(SkillIn, _request().raw_body))
    return Response(body=skill, status_code=201)


@route("/skills/{skill_id}", methods=["PATCH"])
def update_skill(skill_id: str) -> dict[str, Any]:
    principal = _principal(auth.ADMIN_ROLES)
    return admin.update_skill(principal, skill_id, parse_body(SkillPatchIn, _request().raw_body))


@route("/keys", methods=["GET"])
def list_keys() -> dict[str, Any]:
    return keys.list_keys(_principal(auth.ADMIN_ROLES))


@route("/keys", methods=["POST"])
def create_key() -> Response:
    principal = _principal(auth.ADMIN_ROLES)
    return Response(body=keys.create(principal, parse_body(KeyIn, _request().raw_body)),
                    status_code=201)


@route("/keys/{key_id}", methods=["DELETE"])
def revoke_key(key_id: str) -> dict[str, Any]:
    return keys.revoke(_principal(auth.ADMIN_ROLES), key_id)


@route("/audit", methods=["GET"])
def audit_entries() -> dict[str, Any]:
    principal = _principal(auth.ADMIN_ROLES)
    query = _request().query_params
    return audit_log.page(principal, params.limit(query), params.optional(query, "cursor"))
# --- replies, opt-outs, conversations, delivery callbacks (issue 5) --------------------------
from chalicelib.api.inbound_schemas import AgentMessageIn  # noqa: E402
from chalicelib.messaging import webhooks  # noqa: E402
from chalicelib.services import conversations as conversations_service  # noqa: E402
from chalicelib.services import delivery, inbound, optout_admin  # noqa: E402

FORM = ["application/x-www-form-urlencoded"]
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _twiml() -> Response:
    return Response(body=EMPTY_TWIML, status_code=200, headers={"Content-Type": "text/xml"})


def _webhook_base_url(route_path: str) -> str:
    """The public URL the gateway called, up to `route_path`: the configured override, else
    the request's own (Host header and stage, as API Gateway delivers it)."""
    request = _request()
    return (config.get_settings().webhook_base_url
            or webhooks.request_base_url(request.headers, request.context or {}, route_path))


@route(webhooks.INBOUND_PATH, methods=["POST"], content_types=FORM)
def twilio_inbound() -> Response:
    request = _request()
    inbound.receive(request.raw_body, request.headers.get(webhooks.SIGNATURE_HEADER),
                    request.query_params, base_url=_webhook_base_url(webhooks.INBOUND_PATH))
    return _twiml()


# What the webhook could not apply at once (issue 11.5): applied here, once per MessageSid; a
# message that fails is reported alone and retried, then kept in the inbound DLQ (alarmed).
@app.on_sqs_message(queue=config.inbound_queue_name(), batch_size=10, maximum_concurrency=2)
def apply_inbound(event: Any) -> dict[str, Any]:
    retry = inbound.apply_queued([(r.to_dict()["messageId"], r.body) for r in event])
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in retry]}


@route(webhooks.STATUS_PATH, methods=["POST"], content_types=FORM)
def twilio_status() -> Response:
    request = _request()
    delivery.receive(request.raw_body, request.headers.get(webhooks.SIGNATURE_HEADER),
                     request.query_params, base_url=_webhook_base_url(webhooks.STATUS_PATH))
    return _twiml()


@route("/optouts", methods=["GET"])
def list_optouts() -> Any:
    principal = _principal(auth.ADMIN_ROLES)
    query = _request().query_params
    if params.one_of(query, "format", ("json", "csv")) == "csv":
        text, next_cursor = optout_admin.csv_export(principal, params.optional(query, "cursor"))
        headers = {"Content-Type": "text/csv; charset=utf-8",
                   "Content-Disposition": 'attachment; filename="optouts.csv"'}
        if next_cursor:
            headers["X-Next-Cursor"] = next_cursor
        return Response(body=text, status_code=200, headers=headers)
    return optout_admin.list_page(principal, params.limit(query),
                                  params.optional(query, "cursor"),
                                  params.optional(query, "phone"))


@route("/optouts/{phone}", methods=["PUT"])
def put_optout(phone: str) -> Response:
    view, created = optout_admin.put(_principal(auth.ADMIN_ROLES), phone)
    return Response(body=view, status_code=201 if created else 200)


@route("/optouts/{phone}", methods=["DELETE"])
def delete_optout(phone: str) -> dict[str, Any]:
    return optout_admin.delete(_principal(auth.ADMIN_ROLES), phone)


@route("/conversations", methods=["GET"])
def list_conversations() -> dict[str, Any]:
    principal = _principal(auth.AGENT_ROLES)
    query = _request().query_params
    return conversations_service.list_page(
        principal, params.optional(query, "skill"),
        params.one_of(query, "status", ("open", "closed")), params.limit(query),
        params.optional(query, "cursor"))


@route("/conversations/{conversation_id}", methods=["GET"])
def get_conversation(conversation_id: str) -> dict[str, Any]:
    return conversations_service.get(_principal(auth.AGENT_ROLES), conversation_id)


@route("/conversations/{conversation_id}/messages", methods=["POST"])
def answer_conversation(conversation_id: str) -> dict[str, Any]:
    principal = _principal(auth.AGENT_ROLES)
    payload = parse_body(AgentMessageIn, _request().raw_body)
    return conversations_service.answer(principal, conversation_id, payload.text)


@route("/conversations/{conversation_id}/close", methods=["POST"])
def close_conversation(conversation_id: str) -> dict[str, Any]:
    return conversations_service.close(_principal(auth.AGENT_ROLES), conversation_id)


@app.on_dynamodb_record(stream_arn=config.messages_stream_arn(), batch_size=100,
                        starting_position="TRIM_HORIZON")
def match_status_callbacks(event: Any) -> dict[str, int]:
    applied = delivery.apply_sent_records(r.to_dict() if hasattr(r, "to_dict") else r
                                          for r in event)
    return {"applied": applied}
# --- recipients and templates ----------------------------------------------------------------

@route("/recipients/parse", methods=["POST"])
def parse_recipients() -> dict[str, Any]:
    principal = _principal(auth.TOOL_ROLES)
    return recipients.preview(principal, parse_body(ParseIn, _request().raw_body))


@route("/campaigns/{campaign_id}/recipients/upload", methods=["POST"])
def upload_recipients(campaign_id: str) -> Response:
    principal = _principal(auth.TOOL_ROLES)
    return Response(body=recipients.start_upload(principal, campaign_id), status_code=201)


@route("/campaigns/{campaign_id}/recipients", methods=["GET"])
def campaign_recipients(campaign_id: str) -> dict[str, Any]:
    principal = _principal(auth.TOOL_ROLES)
    query = _request().query_params
    errors = params.one_of(query, "errors", ("true", "false")) == "true"
    return recipients.page(principal, campaign_id, errors, params.limit(query),
                           params.optional(query, "cursor"))


@route("/templates", methods=["POST"])
def create_template() -> Response:
    principal = _principal(auth.ADMIN_ROLES)
    return _once(principal, lambda: Response(body=whatsapp_templates.create(
        principal, parse_body(TemplateIn, _request().raw_body)), status_code=201))


@route("/templates", methods=["GET"])
def list_templates() -> dict[str, Any]:
    principal = _principal(auth.TOOL_ROLES)
    query = _request().query_params
    return whatsapp_templates.list_page(principal, params.limit(query),
                                        params.optional(query, "cursor"),
                                        params.one_of(query, "status", TEMPLATE_STATUSES))


@route("/templates/{template_id}", methods=["GET"])
def get_template(template_id: str) -> dict[str, Any]:
    return whatsapp_templates.get(_principal(auth.TOOL_ROLES), template_id)


@route("/templates/{template_id}/submit", methods=["POST"])
def submit_template(template_id: str) -> dict[str, Any]:
    return whatsapp_templates.submit(_principal(auth.ADMIN_ROLES), template_id)


# The uploads bucket invokes this for every new object under uploads/ (the notification is in
# infra/resources/storage.yaml: chalice package cannot write @app.on_s3_event). Locally the S3
# pump (infra/pumps.py) delivers the same event.
@app.lambda_function(name="parse_upload")
def parse_upload(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return recipients.handle_s3_event(event)
# --- web tool (static files in chalicelib/web, served from the same API) ---------------------

@route("/")
def web_page() -> Response:
    text, headers = static.page(_request().context.get("path") or "/")
    return Response(body=text, headers=headers)


@route("/ui/{name}")
def web_asset(name: str) -> Response:
    text, headers = static.asset(name)
    return Response(body=text, headers=headers)


@route("/ui/vendor/{name}")
def web_vendor_asset(name: str) -> Response:
    text, headers = static.asset(name, folder="vendor")
    return Response(body=text, headers=headers)


# --- event handlers ---------------------------------------------------------------------------

@app.on_sqs_message(queue=config.send_queue_name(), batch_size=10, maximum_concurrency=5)
def send_messages(event: Any) -> dict[str, Any]:
    records = [(r.to_dict()["messageId"], r.body) for r in event]
    # One deadline for the whole batch, from what the invocation has left (issue 11.7).
    remaining = event.context.get_remaining_time_in_millis() / 1000.0
    failures = dispatch.handle_batch(records, remaining_seconds=remaining)
    return {"batchItemFailures": [{"itemIdentifier": f} for f in failures]}


@app.on_sqs_message(queue=config.control_queue_name(), batch_size=1, maximum_concurrency=2)
def run_jobs(event: Any) -> None:
    for record in event:
        jobs.run(json.loads(record.body))


@app.schedule("rate(1 minute)")
def release_due(event: Any) -> dict[str, int]:
    return release.tick()


@app.on_dynamodb_record(stream_arn=config.messages_stream_arn(), batch_size=100,
                        starting_position="TRIM_HORIZON")
def aggregate_metrics(event: Any) -> dict[str, int]:
    records = [r.to_dict() if hasattr(r, "to_dict") else r for r in event]
    applied = metrics.apply_records(records)
    logger.debug("metrics applied", extra={"records": applied})
    # campaign.completed once the counters say so (issue 16.5; services/webhooks_out.py)
    return {"applied": applied, "completed": webhooks_out.publish_completions(records)}


# --- analytics and reports ----------------------------------------------------------------------

def _csv_or_link(export: reports.Export) -> Response:
    if export.link is not None:
        return Response(body=export.link, status_code=200,
                        headers={"Content-Type": "application/json"})
    return Response(body=(export.body or b"").decode("utf-8"), status_code=200, headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{export.filename}"'})


@route("/analytics", methods=["GET"])
def brand_analytics() -> dict[str, Any]:
    principal = _principal(auth.TOOL_ROLES)
    query = _request().query_params
    return analytics.brand_analytics(
        principal, params.optional(query, "range"), params.optional(query, "from"),
        params.optional(query, "to"), params.optional(query, "skills"))


@route("/campaigns/{campaign_id}/analytics", methods=["GET"])
def campaign_analytics(campaign_id: str) -> dict[str, Any]:
    principal = _principal(auth.TOOL_ROLES)
    query = _request().query_params
    return analytics.campaign_analytics(
        principal, campaign_id, params.optional(query, "range"), params.optional(query, "from"),
        params.optional(query, "to"))


@route("/summary", methods=["GET"])
def brand_summary() -> dict[str, Any]:
    return analytics.summary(_principal(auth.TOOL_ROLES))


@route("/campaigns.csv", methods=["GET"])
def campaigns_csv() -> Response:
    return _csv_or_link(reports.campaigns_csv(_principal(auth.TOOL_ROLES)))


@route("/campaigns/{campaign_id}/messages.csv", methods=["GET"])
def campaign_messages_csv(campaign_id: str) -> Response:
    return _csv_or_link(reports.messages_csv(_principal(auth.TOOL_ROLES), campaign_id))


@app.schedule("cron(30 3 * * ? *)")
def reconcile_counters(event: Any) -> dict[str, Any]:
    return reconcile.scheduled_check()


# --- events to the brand's own systems (issue 16.5, 16.6) --------------------------------------
from chalicelib.api.integration_schemas import EndpointIn  # noqa: E402
from chalicelib.services import webhooks_out  # noqa: E402


@route("/event-endpoints", methods=["POST"])
def create_event_endpoint() -> Response:
    principal = _principal(auth.ADMIN_ROLES)
    payload = parse_body(EndpointIn, _request().raw_body)
    return Response(body=webhooks_out.create_endpoint(principal, payload.url,
                                                      list(payload.events),
                                                      payload.description), status_code=201)


@route("/event-endpoints", methods=["GET"])
def list_event_endpoints() -> dict[str, Any]:
    return webhooks_out.list_endpoints(_principal(auth.ADMIN_ROLES))


@route("/event-endpoints/{endpoint_id}", methods=["DELETE"])
def delete_event_endpoint(endpoint_id: str) -> dict[str, Any]:
    return webhooks_out.delete_endpoint(_principal(auth.ADMIN_ROLES), endpoint_id)


@route("/event-deliveries/failed", methods=["GET"])
def failed_event_deliveries() -> dict[str, Any]:
    principal = _principal(auth.ADMIN_ROLES)
    query = _request().query_params
    return webhooks_out.dead_letters(principal, params.limit(query),
                                     params.optional(query, "cursor"))


@route("/event-deliveries/failed/{delivery_id}/redeliver", methods=["POST"])
def redeliver_event(delivery_id: str) -> dict[str, Any]:
    return webhooks_out.redeliver(_principal(auth.ADMIN_ROLES), delivery_id)


# message.* events from the messages table's stream (the send path does not know about them).
@app.on_dynamodb_record(stream_arn=config.messages_stream_arn(), batch_size=100,
                        starting_position="TRIM_HORIZON")
def publish_message_events(event: Any) -> dict[str, int]:
    published = webhooks_out.publish_message_events(
        r.to_dict() if hasattr(r, "to_dict") else r for r in event)
    return {"published": published}


@app.on_sqs_message(queue=config.webhook_queue_name(), batch_size=10, maximum_concurrency=5)
def deliver_events(event: Any) -> dict[str, Any]:
    failures = []
    for record in event:
        message_id = record.to_dict()["messageId"]
        try:
            webhooks_out.deliver(record.body)
        except Exception:  # noqa: BLE001 - retried by SQS; the others are done
            logger.exception("webhook delivery crashed", extra={"message_id": message_id})
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
