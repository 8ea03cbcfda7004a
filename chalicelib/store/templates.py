"""WhatsApp templates (the cross-issue contract's TemplateModel), as the send path reads them.

Issue 3 owns authoring (create, submit, approval); the send path needs only `get_template` and a
template's `status` and `content_sid` (the gateway's id of the approved content, Twilio
ContentSid "HX...").
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.models import Model

from chalicelib.store.models import register

TEMPLATE_STATUSES = ("PENDING", "APPROVED", "REJECTED", "PAUSED", "DISABLED")


class TemplateModel(Model):
    class Meta:
        table_name = "TemplatesTable"
        logical_id = "TemplatesTable"

    brand_id = UnicodeAttribute(hash_key=True)
    template_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    language = UnicodeAttribute()
    category = UnicodeAttribute()  # MARKETING | UTILITY | AUTHENTICATION
    body = UnicodeAttribute()
    variable_count = NumberAttribute(default=0)
    status = UnicodeAttribute(default="PENDING")
    reason = UnicodeAttribute(null=True)
    content_sid = UnicodeAttribute(null=True)
    created_at = NumberAttribute(null=True)
    updated_at = NumberAttribute(null=True)


register(TemplateModel)


def get_template(brand_id: str, template_id: str) -> TemplateModel | None:
    try:
        return TemplateModel.get(brand_id, template_id)
    except DoesNotExist:
        return None
