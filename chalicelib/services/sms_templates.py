"""SMS templates of a brand, managed beside the WhatsApp ones: create, change, delete, list,
read. No approval step: a saved template can be sent at once. The brand's default (the fixed id
"1234567890" of the LivePerson-compatible API) is the template last made default."""

from __future__ import annotations

import time
from typing import Any

from chalicelib.domain import sms_templates as sms_rules
from chalicelib.domain.errors import Conflict, field_error
from chalicelib.domain.ids import new_id
from chalicelib.domain.sms_template_inputs import SmsTemplateIn, SmsTemplatePatchIn
from chalicelib.services.auth import Principal
from chalicelib.services.views import iso
from chalicelib.store import sms_templates as sms_template_store
from chalicelib.store.sms_templates import SmsTemplateModel


def view(template: SmsTemplateModel, default_id: str | None) -> dict[str, Any]:
    return {
        "id": template.template_id,
        "name": template.name,
        "text": template.text,
        "variable_count": int(template.variable_count or 0),
        "default": template.template_id == default_id,
        "created_at": iso(template.created_at),
        "created_by": template.created_by,
        "updated_at": iso(template.updated_at),
    }


def default_of(items: list[SmsTemplateModel]) -> SmsTemplateModel | None:
    marked = [t for t in items if t.default_at is not None]
    return max(marked, key=lambda t: float(t.default_at or 0)) if marked else None


def _default_id(brand_id: str) -> str | None:
    found = default_of(sms_template_store.all_of_brand(brand_id))
    return found.template_id if found else None


def create(principal: Principal, payload: SmsTemplateIn) -> dict[str, Any]:
    existing = sms_template_store.all_of_brand(principal.brand_id)
    if any(t.name == payload.name for t in existing):
        raise Conflict(f"the brand already has an SMS template named '{payload.name}'")
    now = time.time()
    template = SmsTemplateModel(
        principal.brand_id, new_id("stp", now), name=payload.name, text=payload.text,
        variable_count=sms_rules.variable_count(payload.text),
        default_at=now if payload.default or default_of(existing) is None else None,
        created_by=principal.label or principal.key_id, created_at=now, updated_at=now)
    sms_template_store.create(template)
    return view(template, _default_id(principal.brand_id))


def update(principal: Principal, template_id: str,
           payload: SmsTemplatePatchIn) -> dict[str, Any]:
    template = sms_template_store.get(principal.brand_id, template_id)
    if payload.name is not None and payload.name != template.name and any(
            t.name == payload.name for t in sms_template_store.all_of_brand(principal.brand_id)):
        raise Conflict(f"the brand already has an SMS template named '{payload.name}'")
    count = sms_rules.variable_count(payload.text) if payload.text is not None else None
    sms_template_store.change(template, payload.name, payload.text, count,
                              bool(payload.default), time.time())
    return get(principal, template_id)


def delete(principal: Principal, template_id: str) -> dict[str, Any]:
    template = sms_template_store.get(principal.brand_id, template_id)
    result = view(template, _default_id(principal.brand_id))
    sms_template_store.delete(template)
    return {**result, "deleted": True}


def get(principal: Principal, template_id: str) -> dict[str, Any]:
    if template_id == sms_rules.DEFAULT_ID:
        return view(default(principal.brand_id), _default_id(principal.brand_id))
    return view(sms_template_store.get(principal.brand_id, template_id),
                _default_id(principal.brand_id))


def list_page(principal: Principal, limit: int, cursor: str | None) -> dict[str, Any]:
    items, next_cursor = sms_template_store.page(principal.brand_id, limit, cursor)
    default_id = _default_id(principal.brand_id)
    return {"items": [view(t, default_id) for t in items], "next_cursor": next_cursor,
            "default_id": default_id}


def default(brand_id: str, field: str = "template_id") -> SmsTemplateModel:
    found = default_of(sms_template_store.all_of_brand(brand_id))
    if found is None:
        raise field_error(field, "the brand has no SMS template yet; an admin creates one "
                          "(POST /sms-templates), the first one is the default")
    return found


def usable(brand_id: str, template_id: str) -> SmsTemplateModel | None:
    """The SMS template `template_id` ("1234567890": the default), or None if it is none."""
    if template_id == sms_rules.DEFAULT_ID:
        return default_of(sms_template_store.all_of_brand(brand_id))
    return sms_template_store.find(brand_id, template_id)
