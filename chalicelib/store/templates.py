"""WhatsApp templates of a brand (TemplatesTable: brand_id, template_id).

Archiving and deleting are admin changes: the *_step functions below are written with their
audit entry in one transaction (store/audit.py commit)."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.models import Model

from chalicelib.domain.errors import NotFound
from chalicelib.store.audit import Step
from chalicelib.store.models import register
from chalicelib.store.paging import decode_cursor, encode_cursor


class TemplateModel(Model):
    class Meta:
        table_name = "TemplatesTable"
        logical_id = "TemplatesTable"

    brand_id = UnicodeAttribute(hash_key=True)
    template_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    language = UnicodeAttribute()
    category = UnicodeAttribute()
    body = UnicodeAttribute()
    variable_count = NumberAttribute(default=0)
    # DRAFT (not submitted) | PENDING | APPROVED | REJECTED | PAUSED | DISABLED
    status = UnicodeAttribute(default="DRAFT")
    reason = UnicodeAttribute(null=True)  # why REJECTED / PAUSED / DISABLED
    content_sid = UnicodeAttribute(null=True)  # the gateway's id used to send ("HX...")
    created_by = UnicodeAttribute(default="")
    created_at = NumberAttribute()
    submitted_at = NumberAttribute(null=True)
    updated_at = NumberAttribute(null=True)
    # set while an admin has archived it: out of the wizard's list, its approval unchanged
    archived_at = NumberAttribute(null=True)


register(TemplateModel)


def get(brand_id: str, template_id: str) -> TemplateModel:
    try:
        return TemplateModel.get(brand_id, template_id, consistent_read=True)
    except DoesNotExist:
        raise NotFound(f"template {template_id} does not exist") from None


def create(template: TemplateModel) -> None:
    template.save(condition=TemplateModel.template_id.does_not_exist())


def set_status(template: TemplateModel, status: str, reason: str, now: float, *,
               submitted: bool = False) -> None:
    """The template's approval status as the gateway gave it (`submitted`: it was just sent for
    approval)."""
    actions: list[Any] = [TemplateModel.status.set(status), TemplateModel.reason.set(reason),
               TemplateModel.updated_at.set(now)]
    if submitted:
        actions.append(TemplateModel.submitted_at.set(now))
    template.update(actions=actions)


def all_of_brand(brand_id: str) -> list[TemplateModel]:
    return list(TemplateModel.query(brand_id))


ARCHIVED = "ARCHIVED"  # the listing filter of archived templates (not an approval status)


def page(brand_id: str, limit: int, cursor: str | None,
         status: str | None) -> tuple[list[TemplateModel], str | None]:
    """Templates not archived (in `status` if given); status ARCHIVED: the archived ones."""
    condition: Any
    if status == ARCHIVED:
        condition = TemplateModel.archived_at.exists()
    else:
        condition = TemplateModel.archived_at.does_not_exist()
        if status:
            condition = condition & (TemplateModel.status == status)
    scope = f"templates#{brand_id}#{status or ''}"
    result = TemplateModel.query(brand_id, filter_condition=condition, limit=limit,
                                 scan_index_forward=False,
                                 last_evaluated_key=decode_cursor(cursor, scope))
    items = list(result)
    return items, encode_cursor(result.last_evaluated_key, scope)


def get_template(brand_id: str, template_id: str) -> TemplateModel | None:
    """The template, or None when the brand has no such template (the send path's read)."""
    try:
        return get(brand_id, template_id)
    except NotFound:
        return None


# --- admin changes: one Step each of an audited transaction (audit.commit) ---------------------

def archive_step(template: TemplateModel, now: float, conflict: str) -> Step:
    return Step("update", template, TemplateModel.archived_at.does_not_exist(),
                [TemplateModel.archived_at.set(now), TemplateModel.updated_at.set(now)],
                conflict=conflict)


def unarchive_step(template: TemplateModel, now: float, conflict: str) -> Step:
    return Step("update", template, TemplateModel.archived_at.exists(),
                [TemplateModel.archived_at.remove(), TemplateModel.updated_at.set(now)],
                conflict=conflict)


def delete_step(template: TemplateModel, conflict: str) -> Step:
    return Step("delete", template, TemplateModel.template_id.exists(), conflict=conflict)
