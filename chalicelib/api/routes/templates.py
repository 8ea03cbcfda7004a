"""WhatsApp templates: created and submitted by admins and campaign managers, read by the
campaign wizard; archived, restored and deleted by admins."""

from __future__ import annotations

from typing import Any

from chalice import Response  # type: ignore[attr-defined]

from chalicelib.api import params
from chalicelib.api.routing import Routes
from chalicelib.domain.content_inputs import TemplateIn
from chalicelib.domain.inputs import parse_body
from chalicelib.services import auth, templates

routes = Routes(__name__)

TEMPLATE_STATUSES = ("DRAFT", "PENDING", "APPROVED", "REJECTED", "PAUSED", "DISABLED")
LIST_FILTERS = (*TEMPLATE_STATUSES, "ARCHIVED")  # ARCHIVED: the archived ones (any approval)


@routes.route("/templates", methods=["POST"])
def create_template() -> Response:
    principal = routes.principal(auth.TEMPLATE_ROLES)
    return routes.once(principal, lambda: Response(body=templates.create(
        principal, parse_body(TemplateIn, routes.request().raw_body)), status_code=201))


@routes.route("/templates", methods=["GET"])
def list_templates() -> dict[str, Any]:
    principal = routes.principal(auth.TOOL_ROLES)
    query = routes.request().query_params
    return templates.list_page(principal, params.limit(query), params.optional(query, "cursor"),
                               params.one_of(query, "status", LIST_FILTERS))


@routes.route("/templates/{template_id}", methods=["GET"])
def get_template(template_id: str) -> dict[str, Any]:
    return templates.get(routes.principal(auth.TOOL_ROLES), template_id)


@routes.route("/templates/{template_id}/submit", methods=["POST"])
def submit_template(template_id: str) -> dict[str, Any]:
    return templates.submit(routes.principal(auth.TEMPLATE_ROLES), template_id)


@routes.route("/templates/{template_id}", methods=["DELETE"])
def delete_template(template_id: str) -> dict[str, Any]:
    return templates.delete(routes.principal(auth.ADMIN_ROLES), template_id)


@routes.route("/templates/{template_id}/archive", methods=["POST"])
def archive_template(template_id: str) -> dict[str, Any]:
    return templates.archive(routes.principal(auth.ADMIN_ROLES), template_id)


@routes.route("/templates/{template_id}/unarchive", methods=["POST"])
def unarchive_template(template_id: str) -> dict[str, Any]:
    return templates.unarchive(routes.principal(auth.ADMIN_ROLES), template_id)
