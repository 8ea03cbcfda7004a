"""Events to the brand's own systems: its webhook endpoints and the deliveries that failed for
24 h (dead letters), for admins (chalicelib/services/webhooks_out.py)."""

from __future__ import annotations

from typing import Any

from chalice import Response  # type: ignore[attr-defined]

from chalicelib.api import params
from chalicelib.api.routing import Routes
from chalicelib.domain.inputs import parse_body
from chalicelib.domain.integration_inputs import EndpointIn
from chalicelib.services import auth, webhooks_out

routes = Routes(__name__)


@routes.route("/event-endpoints", methods=["POST"])
def create_event_endpoint() -> Response:
    principal = routes.principal(auth.ADMIN_ROLES)
    payload = parse_body(EndpointIn, routes.request().raw_body)
    return Response(body=webhooks_out.create_endpoint(principal, payload.url,
                                                      list(payload.events),
                                                      payload.description), status_code=201)


@routes.route("/event-endpoints", methods=["GET"])
def list_event_endpoints() -> dict[str, Any]:
    return webhooks_out.list_endpoints(routes.principal(auth.ADMIN_ROLES))


@routes.route("/event-endpoints/{endpoint_id}", methods=["DELETE"])
def delete_event_endpoint(endpoint_id: str) -> dict[str, Any]:
    return webhooks_out.delete_endpoint(routes.principal(auth.ADMIN_ROLES), endpoint_id)


@routes.route("/event-deliveries/failed", methods=["GET"])
def failed_event_deliveries() -> dict[str, Any]:
    principal = routes.principal(auth.ADMIN_ROLES)
    query = routes.request().query_params
    return webhooks_out.dead_letters(principal, params.limit(query),
                                     params.optional(query, "cursor"))


@routes.route("/event-deliveries/failed/{delivery_id}/redeliver", methods=["POST"])
def redeliver_event(delivery_id: str) -> dict[str, Any]:
    return webhooks_out.redeliver(routes.principal(auth.ADMIN_ROLES), delivery_id)
