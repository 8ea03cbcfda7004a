"""Routes of the LivePerson Proactive 2.0 compatible API (a Chalice Blueprint; app.py registers
it). Its own auth (the AppJWT of the token endpoint, chalicelib/lp/tokens.py) and its own error
shape (chalicelib/lp/errors.py); the work is done by our services (chalicelib/lp/service.py).

Also the product routes this feature brings: the brand's API client credentials (admins) and SMS
templates (beside the WhatsApp templates), with our API keys and our error shape."""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import parse_qs

from chalice import Blueprint, Response  # type: ignore[attr-defined]

from chalicelib.api import errors, params, request_limits
from chalicelib.domain.inputs import parse_body
from chalicelib.domain.sms_template_inputs import SmsTemplateIn, SmsTemplatePatchIn
from chalicelib.lp import credentials, schemas, service, tokens
from chalicelib.lp.errors import LpError, lp_errors
from chalicelib.services import auth, ratelimit, sms_templates
from chalicelib.services.auth import Principal

bp = Blueprint(__name__)
JSON_TYPES = ["application/json", "application/x-www-form-urlencoded"]
REPORT_PAGE_MAX = 1000


def lp_route(path: str, **kwargs: Any) -> Any:
    """A compatible path: LivePerson's error shape, bodies over 1 MB refused with 413."""

    def register(view: Any) -> Any:
        @functools.wraps(view)
        def limited(*args: Any, **kw: Any) -> Any:
            try:
                request_limits.check_body_size(bp.current_request)
            except Exception as error:  # noqa: BLE001 - PayloadTooLarge, as LivePerson says it
                raise LpError(413, str(error)) from None
            return view(*args, **kw)

        kwargs.setdefault("content_types", JSON_TYPES)
        return bp.route(path, **kwargs)(lp_errors(limited))

    return register


def our_route(path: str, **kwargs: Any) -> Any:
    """One of our own paths (API keys, our error shape), as app.py's route()."""

    def register(view: Any) -> Any:
        @functools.wraps(view)
        def limited(*args: Any, **kw: Any) -> Any:
            request_limits.check_body_size(bp.current_request)
            return view(*args, **kw)

        kwargs.setdefault("content_types", JSON_TYPES)
        return bp.route(path, **kwargs)(errors.json_errors(limited))

    return register


def _request() -> Any:
    return bp.current_request


def _lp_principal(account_id: str) -> Principal:
    headers = _request().headers or {}
    principal = tokens.principal(headers.get("authorization"), account_id)
    ratelimit.check(principal.brand_id)
    return principal


def _our_principal(roles: tuple[str, ...]) -> Principal:
    principal = auth.authenticate((_request().headers or {}).get("authorization"))
    ratelimit.check(principal.brand_id)
    return auth.require(principal, roles)


def _query() -> dict[str, str]:
    return dict(_request().query_params or {})


# --- the compatible API -----------------------------------------------------------------------

@lp_route("/sentinel/api/account/{accountId}/app/token", methods=["POST"])
def lp_token(accountId: str) -> dict[str, Any]:  # noqa: N803 - LivePerson's path name
    request = _request()
    values = dict(_query())
    raw = request.raw_body or b""
    content_type = (request.headers or {}).get("content-type", "")
    if raw and "json" in content_type:
        data = schemas.read_json(raw)
        values.update({k: str(v) for k, v in data.items() if isinstance(v, str)})
    elif raw:
        text = raw.decode("utf-8", errors="replace")
        values.update({k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()})
    grant = values.get("grant_type") or "client_credentials"
    if grant != "client_credentials":
        raise LpError(400, "grant_type must be client_credentials")
    ratelimit.check(accountId)
    return tokens.issue(accountId, values.get("client_id", ""), values.get("client_secret", ""))


@lp_route("/api/v2/account/{accountId}/campaign", methods=["POST"])
def lp_create_campaign(accountId: str) -> dict[str, Any]:  # noqa: N803
    principal = _lp_principal(accountId)
    request = schemas.parse_create(schemas.read_json(_request().raw_body))
    return service.create(principal, request)


@lp_route("/api/v2/account/{accountId}/campaign/{proactiveCampaignId}/conversations",
          methods=["GET"])
def lp_campaign_conversations(accountId: str,  # noqa: N803
                              proactiveCampaignId: str) -> dict[str, Any]:  # noqa: N803
    return service.conversations_of(_lp_principal(accountId), proactiveCampaignId)


def _offset_limit(query: dict[str, str]) -> tuple[int, int]:
    values = []
    for name, default, high in (("offset", 0, 10**9), ("limit", 100, REPORT_PAGE_MAX)):
        raw = query.get(name)
        try:
            value = default if raw in (None, "") else int(str(raw))
        except ValueError:
            raise LpError(400, f"{name} must be a whole number") from None
        if not 0 <= value <= high or (name == "limit" and value == 0):
            raise LpError(400, f"{name} must be from {0 if name == 'offset' else 1} to {high}")
        values.append(value)
    return values[0], values[1]


@lp_route("/api/account/{accountId}/app/prmsg/campaigns/{proactiveCampaignId}",
          methods=["GET"])
def lp_campaign_report(accountId: str, proactiveCampaignId: str) -> dict[str, Any]:  # noqa: N803
    principal = _lp_principal(accountId)
    offset, limit = _offset_limit(_query())
    return service.report(principal, proactiveCampaignId, offset, limit)


@lp_route("/api/account/{accountId}/app/prmsg/campaigns/{proactiveCampaignId}/analytics",
          methods=["GET"])
def lp_campaign_analytics(accountId: str,  # noqa: N803
                          proactiveCampaignId: str) -> dict[str, Any]:  # noqa: N803
    return service.campaign_analytics(_lp_principal(accountId), proactiveCampaignId)


@lp_route("/api/account/{accountId}/app/prmsg/analytics", methods=["GET", "POST"])
def lp_account_analytics(accountId: str) -> dict[str, Any]:  # noqa: N803
    principal = _lp_principal(accountId)
    request = _request()
    filters = None
    if request.method == "POST" and (request.raw_body or b"").strip():
        filters = schemas.read_json(request.raw_body)
    return service.account_analytics(principal, _query(), filters)


# --- the brand's API client (admins) ----------------------------------------------------------

@our_route("/api-client", methods=["GET"])
def get_api_client() -> dict[str, Any]:
    return credentials.get(_our_principal(auth.ADMIN_ROLES))


@our_route("/api-client", methods=["POST"])
def enable_api_client() -> Response:
    return Response(body=credentials.enable(_our_principal(auth.ADMIN_ROLES)), status_code=201)


@our_route("/api-client/rotate", methods=["POST"])
def rotate_api_client() -> dict[str, Any]:
    return credentials.rotate(_our_principal(auth.ADMIN_ROLES))


@our_route("/api-client", methods=["DELETE"])
def revoke_api_client() -> dict[str, Any]:
    return credentials.revoke(_our_principal(auth.ADMIN_ROLES))


# --- SMS templates ----------------------------------------------------------------------------

@our_route("/sms-templates", methods=["POST"])
def create_sms_template() -> Response:
    principal = _our_principal(auth.ADMIN_ROLES)
    payload = parse_body(SmsTemplateIn, _request().raw_body)
    return Response(body=sms_templates.create(principal, payload), status_code=201)


@our_route("/sms-templates", methods=["GET"])
def list_sms_templates() -> dict[str, Any]:
    principal = _our_principal(auth.TOOL_ROLES)
    query = _query()
    return sms_templates.list_page(principal, params.limit(query),
                                   params.optional(query, "cursor"))


@our_route("/sms-templates/{template_id}", methods=["GET"])
def get_sms_template(template_id: str) -> dict[str, Any]:
    return sms_templates.get(_our_principal(auth.TOOL_ROLES), template_id)


@our_route("/sms-templates/{template_id}", methods=["PATCH"],
           content_types=["application/json", "application/merge-patch+json",
                          "application/x-www-form-urlencoded"])
def update_sms_template(template_id: str) -> dict[str, Any]:
    principal = _our_principal(auth.ADMIN_ROLES)
    return sms_templates.update(principal, template_id,
                                parse_body(SmsTemplatePatchIn, _request().raw_body))


@our_route("/sms-templates/{template_id}", methods=["DELETE"])
def delete_sms_template(template_id: str) -> dict[str, Any]:
    return sms_templates.delete(_our_principal(auth.ADMIN_ROLES), template_id)
