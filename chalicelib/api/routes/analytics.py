"""Analytics and reports: the brand's and a campaign's figures, the summary, CSV exports."""

from __future__ import annotations

from typing import Any

from chalice import Response  # type: ignore[attr-defined]

from chalicelib.api import params
from chalicelib.api.routing import Routes
from chalicelib.services import analytics, auth, reports

routes = Routes(__name__)


def _csv_or_link(export: reports.Export) -> Response:
    if export.link is not None:
        return Response(body=export.link, status_code=200,
                        headers={"Content-Type": "application/json"})
    return Response(body=(export.body or b"").decode("utf-8"), status_code=200, headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{export.filename}"'})


@routes.route("/analytics", methods=["GET"])
def brand_analytics() -> dict[str, Any]:
    principal = routes.principal(auth.TOOL_ROLES)
    query = routes.request().query_params
    return analytics.brand_analytics(
        principal, params.optional(query, "range"), params.optional(query, "from"),
        params.optional(query, "to"), params.optional(query, "skills"))


@routes.route("/campaigns/{campaign_id}/analytics", methods=["GET"])
def campaign_analytics(campaign_id: str) -> dict[str, Any]:
    principal = routes.principal(auth.TOOL_ROLES)
    query = routes.request().query_params
    return analytics.campaign_analytics(
        principal, campaign_id, params.optional(query, "range"), params.optional(query, "from"),
        params.optional(query, "to"))


@routes.route("/summary", methods=["GET"])
def brand_summary() -> dict[str, Any]:
    return analytics.summary(routes.principal(auth.TOOL_ROLES))


@routes.route("/campaigns.csv", methods=["GET"])
def campaigns_csv() -> Response:
    return _csv_or_link(reports.campaigns_csv(routes.principal(auth.TOOL_ROLES)))


@routes.route("/campaigns/{campaign_id}/messages.csv", methods=["GET"])
def campaign_messages_csv(campaign_id: str) -> Response:
    return _csv_or_link(reports.messages_csv(routes.principal(auth.TOOL_ROLES), campaign_id))
