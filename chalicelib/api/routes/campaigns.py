"""Campaigns: create, list, read, change a draft, typed or JSON recipients, launch, cancel,
messages. The writes take an Idempotency-Key (routes.once)."""

from __future__ import annotations

from typing import Any

from chalice import Response  # type: ignore[attr-defined]

from chalicelib.api import params
from chalicelib.api.routing import Routes
from chalicelib.domain.inputs import CampaignIn, LaunchIn, parse_body, read_object
from chalicelib.services import auth, campaigns, recipients
from chalicelib.services.views import MESSAGE_STATUSES

routes = Routes(__name__)


@routes.route("/campaigns", methods=["POST"])
def create_campaign() -> Response:
    principal = routes.principal(auth.TOOL_ROLES)
    return routes.once(principal, lambda: Response(
        body=campaigns.create(principal, parse_body(CampaignIn, routes.request().raw_body)),
        status_code=201))


@routes.route("/campaigns", methods=["GET"])
def list_campaigns() -> dict[str, Any]:
    principal = routes.principal(auth.TOOL_ROLES)
    query = routes.request().query_params
    return campaigns.list_page(principal, params.limit(query), params.optional(query, "cursor"))


@routes.route("/campaigns/{campaign_id}", methods=["GET"])
def get_campaign(campaign_id: str) -> dict[str, Any]:
    return campaigns.get(routes.principal(auth.TOOL_ROLES), campaign_id)


@routes.route("/campaigns/{campaign_id}", methods=["PATCH"],
              content_types=["application/json", "application/merge-patch+json",
                             "application/x-www-form-urlencoded"])
def update_campaign(campaign_id: str) -> dict[str, Any]:
    principal = routes.principal(auth.TOOL_ROLES)
    return campaigns.update_draft(principal, campaign_id, read_object(routes.request().raw_body))


@routes.route("/campaigns/{campaign_id}/recipients", methods=["POST"],
              content_types=["text/plain", "text/csv", "application/octet-stream",
                             "application/json"])
def add_recipients(campaign_id: str) -> Response:
    principal = routes.principal(auth.TOOL_ROLES)
    raw = routes.request().raw_body or b""
    media = (routes.request().headers.get("content-type") or "").split(";")[0].strip().lower()
    if media == "application/json":  # JSON recipients are appended to the list
        return routes.once(principal, lambda: recipients.append_json(principal, campaign_id, raw))
    return routes.once(principal, lambda: campaigns.set_typed_recipients(
        principal, campaign_id, raw.decode("utf-8", errors="replace")))


@routes.route("/campaigns/{campaign_id}/launch", methods=["POST"])
def launch_campaign(campaign_id: str) -> Response:
    principal = routes.principal(auth.TOOL_ROLES)
    return routes.once(principal, lambda: campaigns.launch(
        principal, campaign_id, parse_body(LaunchIn, routes.request().raw_body)))


@routes.route("/campaigns/{campaign_id}/cancel", methods=["POST"])
def cancel_campaign(campaign_id: str) -> Response:
    principal = routes.principal(auth.TOOL_ROLES)
    return routes.once(principal, lambda: campaigns.cancel(principal, campaign_id))


@routes.route("/campaigns/{campaign_id}/messages", methods=["GET"])
def campaign_messages(campaign_id: str) -> dict[str, Any]:
    principal = routes.principal(auth.TOOL_ROLES)
    query = routes.request().query_params
    return campaigns.messages_page(principal, campaign_id, params.limit(query),
                                   params.optional(query, "cursor"),
                                   params.one_of(query, "status", MESSAGE_STATUSES))
