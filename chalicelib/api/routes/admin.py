"""Administration: admins only, except the reads the campaign wizard needs (brand settings,
numbers, skills). Brand settings, sender numbers, skills, API keys, the audit log, opt-outs."""

from __future__ import annotations

from typing import Any

from chalice import Response  # type: ignore[attr-defined]

from chalicelib.api import params
from chalicelib.api.routing import Routes
from chalicelib.domain.admin_inputs import (
    BrandSettingsIn,
    KeyIn,
    NumberIn,
    NumberPatchIn,
    SkillIn,
    SkillPatchIn,
)
from chalicelib.domain.inputs import parse_body
from chalicelib.services import admin, audit_log, auth, keys, optout_admin

routes = Routes(__name__)


@routes.route("/brand", methods=["GET"])
def get_brand() -> dict[str, Any]:
    # Campaign managers read the settings too: the wizard counts the opt-out text and shows the
    # default window. Only admins change them.
    return admin.get_brand(routes.principal(auth.TOOL_ROLES))


@routes.route("/brand", methods=["PUT"])
def update_brand() -> dict[str, Any]:
    principal = routes.principal(auth.ADMIN_ROLES)
    return admin.update_brand(principal, parse_body(BrandSettingsIn, routes.request().raw_body))


@routes.route("/numbers", methods=["GET"])
def list_numbers() -> dict[str, Any]:
    return admin.list_numbers(routes.principal(auth.TOOL_ROLES))


@routes.route("/numbers", methods=["POST"])
def add_number() -> Response:
    principal = routes.principal(auth.ADMIN_ROLES)
    number = admin.add_number(principal, parse_body(NumberIn, routes.request().raw_body))
    return Response(body=number, status_code=201)


@routes.route("/numbers/{number}", methods=["PATCH"])
def update_number(number: str) -> dict[str, Any]:
    principal = routes.principal(auth.ADMIN_ROLES)
    return admin.update_number(principal, number,
                               parse_body(NumberPatchIn, routes.request().raw_body))


@routes.route("/numbers/{number}", methods=["DELETE"])
def remove_number(number: str) -> dict[str, Any]:
    return admin.remove_number(routes.principal(auth.ADMIN_ROLES), number)


@routes.route("/skills", methods=["GET"])
def list_skills() -> dict[str, Any]:
    return admin.list_skills(routes.principal(auth.TOOL_ROLES))


@routes.route("/skills", methods=["POST"])
def create_skill() -> Response:
    principal = routes.principal(auth.ADMIN_ROLES)
    skill = admin.create_skill(principal, parse_body(SkillIn, routes.request().raw_body))
    return Response(body=skill, status_code=201)


@routes.route("/skills/{skill_id}", methods=["PATCH"])
def update_skill(skill_id: str) -> dict[str, Any]:
    principal = routes.principal(auth.ADMIN_ROLES)
    return admin.update_skill(principal, skill_id,
                              parse_body(SkillPatchIn, routes.request().raw_body))


@routes.route("/keys", methods=["GET"])
def list_keys() -> dict[str, Any]:
    return keys.list_keys(routes.principal(auth.ADMIN_ROLES))


@routes.route("/keys", methods=["POST"])
def create_key() -> Response:
    principal = routes.principal(auth.ADMIN_ROLES)
    return Response(body=keys.create(principal, parse_body(KeyIn, routes.request().raw_body)),
                    status_code=201)


@routes.route("/keys/{key_id}", methods=["DELETE"])
def revoke_key(key_id: str) -> dict[str, Any]:
    return keys.revoke(routes.principal(auth.ADMIN_ROLES), key_id)


@routes.route("/audit", methods=["GET"])
def audit_entries() -> dict[str, Any]:
    principal = routes.principal(auth.ADMIN_ROLES)
    query = routes.request().query_params
    return audit_log.page(principal, params.limit(query), params.optional(query, "cursor"))


@routes.route("/optouts", methods=["GET"])
def list_optouts() -> Any:
    principal = routes.principal(auth.ADMIN_ROLES)
    query = routes.request().query_params
    if params.one_of(query, "format", ("json", "csv")) == "csv":
        text, next_cursor = optout_admin.csv_export(principal, params.optional(query, "cursor"))
        headers: dict[str, str | list[str]] = {
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="optouts.csv"'}
        if next_cursor:
            headers["X-Next-Cursor"] = next_cursor
        return Response(body=text, status_code=200, headers=headers)
    return optout_admin.list_page(principal, params.limit(query),
                                  params.optional(query, "cursor"),
                                  params.optional(query, "phone"))


@routes.route("/optouts/{phone}", methods=["PUT"])
def put_optout(phone: str) -> Response:
    view, created = optout_admin.put(routes.principal(auth.ADMIN_ROLES), phone)
    return Response(body=view, status_code=201 if created else 200)


@routes.route("/optouts/{phone}", methods=["DELETE"])
def delete_optout(phone: str) -> dict[str, Any]:
    return optout_admin.delete(routes.principal(auth.ADMIN_ROLES), phone)
