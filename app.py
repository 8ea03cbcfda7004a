"""Routes and event handlers only: each parses its input, calls one chalicelib function and
shapes the result. Business rules live in chalicelib/services and chalicelib/domain."""

from __future__ import annotations

import json
from typing import Any

from chalice import Chalice, Response  # type: ignore[attr-defined]

from chalicelib import config
from chalicelib.api import errors, openapi, params, static
from chalicelib.api.schemas import CampaignIn, LaunchIn, parse_body
from chalicelib.logging import logger
from chalicelib.services import auth, campaigns, dispatch, jobs, metrics, release
from chalicelib.services.views import MESSAGE_STATUSES

app = Chalice(app_name="proactive")


def route(path: str, **kwargs: Any) -> Any:
    """app.route, with domain errors answered as JSON (chalicelib/api/errors.py)."""

    def register(view: Any) -> Any:
        return app.route(path, **kwargs)(errors.json_errors(view))

    return register


def _principal(roles: tuple[str, ...]) -> auth.Principal:
    headers = app.current_request.headers  # type: ignore[union-attr]
    return auth.require(auth.authenticate(headers.get("authorization")), roles)


def _request() -> Any:
    return app.current_request


# --- service ----------------------------------------------------------------------------------

@route("/api")
def index() -> dict[str, Any]:
    return {"service": "proactive messaging", "openapi": "/openapi.json", "health": "/health",
            "web_tool": "/"}


@route("/health")
def health() -> dict[str, Any]:
    return {"ok": True, "stage": config.get_settings().stage}


@route("/openapi.json")
def openapi_document() -> dict[str, Any]:
    return openapi.document()


# --- campaigns --------------------------------------------------------------------------------

@route("/campaigns", methods=["POST"])
def create_campaign() -> Response:
    principal = _principal(auth.TOOL_ROLES)
    payload = parse_body(CampaignIn, _request().raw_body)
    return Response(body=campaigns.create(principal, payload), status_code=201)


@route("/campaigns", methods=["GET"])
def list_campaigns() -> dict[str, Any]:
    principal = _principal(auth.TOOL_ROLES)
    query = _request().query_params
    return campaigns.list_page(principal, params.limit(query), params.optional(query, "cursor"))


@route("/campaigns/{campaign_id}", methods=["GET"])
def get_campaign(campaign_id: str) -> dict[str, Any]:
    return campaigns.get(_principal(auth.TOOL_ROLES), campaign_id)


@route("/campaigns/{campaign_id}/recipients", methods=["POST"],
           content_types=["text/plain", "text/csv", "application/octet-stream"])
def add_recipients(campaign_id: str) -> dict[str, Any]:
    principal = _principal(auth.TOOL_ROLES)
    raw = _request().raw_body or b""
    return campaigns.set_typed_recipients(principal, campaign_id,
                                          raw.decode("utf-8", errors="replace"))


@route("/campaigns/{campaign_id}/launch", methods=["POST"])
def launch_campaign(campaign_id: str) -> dict[str, Any]:
    principal = _principal(auth.TOOL_ROLES)
    return campaigns.launch(principal, campaign_id, parse_body(LaunchIn, _request().raw_body))


@route("/campaigns/{campaign_id}/cancel", methods=["POST"])
def cancel_campaign(campaign_id: str) -> dict[str, Any]:
    return campaigns.cancel(_principal(auth.TOOL_ROLES), campaign_id)


@route("/campaigns/{campaign_id}/messages", methods=["GET"])
def campaign_messages(campaign_id: str) -> dict[str, Any]:
    principal = _principal(auth.TOOL_ROLES)
    query = _request().query_params
    return campaigns.messages_page(principal, campaign_id, params.limit(query),
                                   params.optional(query, "cursor"),
                                   params.one_of(query, "status", MESSAGE_STATUSES))


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
    failures = dispatch.handle_batch(records)
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
    applied = metrics.apply_records(r.to_dict() if hasattr(r, "to_dict") else r for r in event)
    logger.debug("metrics applied", extra={"records": applied})
    return {"applied": applied}
