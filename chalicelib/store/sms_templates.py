"""SMS templates of a brand (SmsTemplatesTable: brand_id, template_id). No approval step: a
template can be used as soon as it is saved. The brand's default SMS template (the fixed id
"1234567890" of the LivePerson-compatible API) is the one most recently made default
(`default_at`): making another the default never has to unset the previous one."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, PutError
from pynamodb.models import Model

from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.store.models import register
from chalicelib.store.paging import decode_cursor, encode_cursor


class SmsTemplateModel(Model):
    class Meta:
        table_name = "SmsTemplatesTable"
        logical_id = "SmsTemplatesTable"

    brand_id = UnicodeAttribute(hash_key=True)
    template_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    text = UnicodeAttribute()
    variable_count = NumberAttribute(default=0)
    default_at = NumberAttribute(null=True)  # set when made the brand's default
    created_by = UnicodeAttribute(default="")
    created_at = NumberAttribute()
    updated_at = NumberAttribute(null=True)


register(SmsTemplateModel)


def get(brand_id: str, template_id: str) -> SmsTemplateModel:
    try:
        return SmsTemplateModel.get(brand_id, template_id, consistent_read=True)
    except DoesNotExist:
        raise NotFound(f"SMS template {template_id} does not exist") from None


def find(brand_id: str, template_id: str) -> SmsTemplateModel | None:
    try:
        return get(brand_id, template_id)
    except NotFound:
        return None


def create(template: SmsTemplateModel) -> None:
    try:
        template.save(condition=SmsTemplateModel.template_id.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise Conflict(f"SMS template {template.template_id} already exists") from None
        raise


def change(template: SmsTemplateModel, name: str | None, text: str | None,
           variable_count: int | None, make_default: bool, now: float) -> None:
    actions: list[Any] = [SmsTemplateModel.updated_at.set(now)]
    if name is not None:
        actions.append(SmsTemplateModel.name.set(name))
    if text is not None:
        actions.append(SmsTemplateModel.text.set(text))
        actions.append(SmsTemplateModel.variable_count.set(variable_count or 0))
    if make_default:
        actions.append(SmsTemplateModel.default_at.set(now))
    template.update(actions=actions, condition=SmsTemplateModel.template_id.exists())


def delete(template: SmsTemplateModel) -> None:
    template.delete()


def all_of_brand(brand_id: str) -> list[SmsTemplateModel]:
    return list(SmsTemplateModel.query(brand_id, consistent_read=True))


def page(brand_id: str, limit: int, cursor: str | None
         ) -> tuple[list[SmsTemplateModel], str | None]:
    scope = f"sms-templates#{brand_id}"
    result = SmsTemplateModel.query(brand_id, limit=limit, scan_index_forward=False,
                                    last_evaluated_key=decode_cursor(cursor, scope))
    items = list(result)
    return items, encode_cursor(result.last_evaluated_key, scope)
