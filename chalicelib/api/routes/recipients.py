"""Recipient lists: checking a list before it is stored, CSV uploads, pages of a stored list.
(Typed lists are POSTed to the campaign: routes/campaigns.py.)"""

from __future__ import annotations

from typing import Any

from chalice import Response  # type: ignore[attr-defined]

from chalicelib.api import params
from chalicelib.api.routing import Routes
from chalicelib.domain.content_inputs import ParseIn
from chalicelib.domain.inputs import parse_body
from chalicelib.services import auth, recipients

routes = Routes(__name__)


@routes.route("/recipients/parse", methods=["POST"])
def parse_recipients() -> dict[str, Any]:
    principal = routes.principal(auth.TOOL_ROLES)
    return recipients.preview(principal, parse_body(ParseIn, routes.request().raw_body))


@routes.route("/campaigns/{campaign_id}/recipients/upload", methods=["POST"])
def upload_recipients(campaign_id: str) -> Response:
    principal = routes.principal(auth.TOOL_ROLES)
    return Response(body=recipients.start_upload(principal, campaign_id), status_code=201)


@routes.route("/campaigns/{campaign_id}/recipients", methods=["GET"])
def campaign_recipients(campaign_id: str) -> dict[str, Any]:
    principal = routes.principal(auth.TOOL_ROLES)
    query = routes.request().query_params
    errors = params.one_of(query, "errors", ("true", "false")) == "true"
    return recipients.page(principal, campaign_id, errors, params.limit(query),
                           params.optional(query, "cursor"))
