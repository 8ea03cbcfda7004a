"""WhatsApp templates: create (at the gateway's Content API), submit for approval, read.

An approval is decided by WhatsApp, not by us: a PENDING template is refreshed from the gateway
whenever it is read, and only an APPROVED one can be used by a campaign.

Admins archive, restore and delete templates whatever their approval status. Archiving only takes
a template out of the lists the wizard offers (GET /templates; `?status=ARCHIVED` lists the
archived ones): its approval is unchanged, so campaigns that already use it keep launching and
sending, as a brand expects of tidying its list. Deleting is refused while a campaign that may
still send (DRAFT, SCHEDULED, RUNNING) uses the template.
"""

from __future__ import annotations

import time
from typing import Any

from chalicelib.domain import templates as wa_rules
from chalicelib.domain.content_inputs import TemplateIn
from chalicelib.domain.errors import Conflict, DomainError, field_error
from chalicelib.domain.ids import new_id
from chalicelib.logs import logger
from chalicelib.messaging.content_api import BrandContentApi, get_content_api
from chalicelib.messaging.gateway import GatewayError
from chalicelib.services import audit_log, gateways
from chalicelib.services.auth import Principal
from chalicelib.services.views import iso
from chalicelib.store import audit, campaigns
from chalicelib.store import templates as template_store
from chalicelib.store.templates import TemplateModel


class GatewayUnavailable(DomainError):
    status = 503
    code = "GATEWAY_UNAVAILABLE"


def _gateway_failed(error: GatewayError, doing: str) -> DomainError:
    if error.kind == "permanent":
        return DomainError(f"the gateway refused to {doing}: {error.message}",
                           code="GATEWAY_REFUSED")
    return GatewayUnavailable(f"the gateway could not {doing} now ({error.code}); try again")


def view(template: TemplateModel) -> dict[str, Any]:
    return {
        "id": template.template_id,
        "name": template.name,
        "language": template.language,
        "category": template.category,
        "body": template.body,
        "variable_count": int(template.variable_count or 0),
        "status": template.status,
        "reason": template.reason or None,
        "content_sid": template.content_sid,
        "created_at": iso(template.created_at),
        "created_by": template.created_by,
        "submitted_at": iso(template.submitted_at),
        "updated_at": iso(template.updated_at),
        "archived_at": iso(template.archived_at),
    }


def create(principal: Principal, payload: TemplateIn) -> dict[str, Any]:
    for existing in template_store.all_of_brand(principal.brand_id):
        if existing.name == payload.name and existing.language == payload.language:
            raise Conflict(f"the brand already has a template '{payload.name}' in "
                           f"{payload.language} ({existing.template_id})")
    body = wa_rules.parse_body(payload.body)
    try:
        sid = _content_api(principal.brand_id).create(
            name=payload.name, language=payload.language, body=payload.body,
            variable_count=body.variable_count)
    except GatewayError as error:
        raise _gateway_failed(error, "create the template") from None
    now = time.time()
    template = TemplateModel(
        principal.brand_id, new_id("tpl", now), name=payload.name, language=payload.language,
        category=payload.category, body=payload.body, variable_count=body.variable_count,
        status="DRAFT", content_sid=sid, created_by=principal.label or principal.key_id,
        created_at=now, updated_at=now)
    template_store.create(template)
    return view(template)


def submit(principal: Principal, template_id: str) -> dict[str, Any]:
    template = template_store.get(principal.brand_id, template_id)
    if template.status != "DRAFT":
        raise Conflict(f"template {template.name} was submitted already; it is "
                       f"{template.status}. Create a new template to change it.")
    try:
        approval = _content_api(principal.brand_id).submit(
            str(template.content_sid), name=template.name, category=template.category)
    except GatewayError as error:
        raise _gateway_failed(error, "submit the template") from None
    now = time.time()
    status = approval.status if approval.status != "DRAFT" else "PENDING"
    template_store.set_status(template, status, approval.reason or "", now, submitted=True)
    return view(template)


def refresh(template: TemplateModel) -> TemplateModel:
    """A PENDING template's status as the gateway knows it now (unchanged if it cannot say)."""
    if template.status != "PENDING" or not template.content_sid:
        return template
    try:
        approval = _content_api(template.brand_id).approval(template.content_sid)
    except GatewayError as error:
        logger.warning("template approval status unavailable",
                       extra={"template_id": template.template_id, "code": error.code})
        return template
    if approval.status not in ("DRAFT", "PENDING") and approval.status != template.status:
        template_store.set_status(template, approval.status, approval.reason or "", time.time())
    return template


def get(principal: Principal, template_id: str) -> dict[str, Any]:
    return view(refresh(template_store.get(principal.brand_id, template_id)))


def list_page(principal: Principal, limit: int, cursor: str | None,
              status: str | None) -> dict[str, Any]:
    items, next_cursor = template_store.page(principal.brand_id, limit, cursor, status)
    return {"items": [view(refresh(t)) for t in items], "next_cursor": next_cursor}


def approved(brand_id: str, template_id: str, field: str = "template_id") -> TemplateModel:
    """The brand's template if it is APPROVED (refreshed from the gateway); else a 400."""
    try:
        template = refresh(template_store.get(brand_id, template_id))
    except DomainError:
        raise field_error(field, f"'{template_id}' is not a template of this brand") from None
    if template.status != "APPROVED":
        reason = f" ({template.reason})" if template.reason else ""
        raise field_error(field, f"template {template.name} is {template.status}{reason}; only "
                          "an APPROVED template can be sent")
    return template


USING_STATUSES = ("DRAFT", "SCHEDULED", "RUNNING")  # campaigns that may still send


def archive(principal: Principal, template_id: str) -> dict[str, Any]:
    """Out of the wizard's list; campaigns using it keep it (see the module's note)."""
    return _set_archived(principal, template_id, archive=True)


def unarchive(principal: Principal, template_id: str) -> dict[str, Any]:
    """Back in the wizard's list (if its approval allows it to be chosen)."""
    return _set_archived(principal, template_id, archive=False)


def _set_archived(principal: Principal, template_id: str, *, archive: bool) -> dict[str, Any]:
    template = template_store.get(principal.brand_id, template_id)
    already = (f"template {template.name} is archived already" if archive
               else f"template {template.name} is not archived")
    if (template.archived_at is not None) == archive:
        raise Conflict(already)
    before = view(template)
    now = time.time()
    make_step = template_store.archive_step if archive else template_store.unarchive_step
    step = make_step(template, now, already)
    template.archived_at, template.updated_at = (now if archive else None), now
    action = "template.archive" if archive else "template.unarchive"
    audit.commit([step], audit_log.entry(principal, principal.brand_id, action, template_id,
                                         before, view(template)))
    return view(template)


def delete(principal: Principal, template_id: str) -> dict[str, Any]:
    """Refused (TEMPLATE_IN_USE, naming them) while a campaign that may still send uses it: its
    launch and its sends read the template. The template stays at the gateway's Content API."""
    template = template_store.get(principal.brand_id, template_id)
    users = [c for c in campaigns.iter_brand(principal.brand_id)
             if c.status in USING_STATUSES and c.template_id == template_id]
    if users:
        named = ", ".join(f"'{c.name}' ({c.campaign_id}, {c.status})" for c in users[:10])
        more = f" and {len(users) - 10} more" if len(users) > 10 else ""
        plural = len(users) > 1
        raise Conflict(f"template {template.name} is used by campaign{'s' if plural else ''} "
                       f"{named}{more}; cancel {'them' if plural else 'it'} or give "
                       f"{'them' if plural else 'it'} another template first, or archive the "
                       "template instead", code="TEMPLATE_IN_USE")
    audit.commit([template_store.delete_step(template, f"template {template.name} was "
                                                       "deleted meanwhile")],
                 audit_log.entry(principal, principal.brand_id, "template.delete", template_id,
                                 view(template), None))
    return {"deleted": template_id}


def _content_api(brand_id: str) -> BrandContentApi:
    """The Content API of the brand's gateway account (its own, else the stage's)."""
    return get_content_api(gateways.secret_ref(brand_id))
