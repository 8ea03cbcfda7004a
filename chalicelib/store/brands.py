"""Brands, their sender numbers, skills and API keys.

Admin changes are written with their audit entry in one transaction (store/audit.py commit); the
functions ending in _step below are those changes, named: the services say which, this module
says how (the conditions and update actions).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.models import Model

from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.store.audit import Step
from chalicelib.store.models import (
    ApiKeyModel,
    BrandModel,
    SenderNumberModel,
    SkillModel,
)


def get_brand(brand_id: str) -> BrandModel:
    try:
        return BrandModel.get(brand_id)
    except DoesNotExist:
        raise NotFound(f"brand {brand_id} does not exist") from None


def put_new(item: Model, what: str) -> None:
    """Create an item that must not exist yet (a conditional put on its hash key)."""
    hash_attr = type(item)._hash_key_attribute()
    try:
        item.save(condition=hash_attr.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise Conflict(f"{what} already exists") from None
        raise


def get_sender_number(number: str) -> SenderNumberModel | None:
    try:
        return SenderNumberModel.get(number)
    except DoesNotExist:
        return None


def brand_numbers(brand_id: str) -> list[SenderNumberModel]:
    return list(SenderNumberModel.brand_index.query(brand_id))


def get_skill(brand_id: str, skill_id: str) -> SkillModel | None:
    try:
        return SkillModel.get(brand_id, skill_id)
    except DoesNotExist:
        return None


def brand_skills(brand_id: str) -> list[SkillModel]:
    return list(SkillModel.query(brand_id))


def get_api_key(key_hash: str) -> ApiKeyModel | None:
    try:
        return ApiKeyModel.get(key_hash)
    except DoesNotExist:
        return None


# --- administration -----------------------------------------------------------------

def find_brand(brand_id: str) -> BrandModel | None:
    try:
        return BrandModel.get(brand_id)
    except DoesNotExist:
        return None


def brand_keys(brand_id: str) -> list[ApiKeyModel]:
    return list(ApiKeyModel.brand_index.query(brand_id))


def save_key(key: ApiKeyModel) -> None:
    """A key stored outside the audited admin changes (bootstrap, tests, the local stack)."""
    key.save()


def touch_key(key: ApiKeyModel, now: float, resolution: float) -> None:
    """Record that the key was used, at most once per `resolution` seconds (a conditional
    update, so concurrent requests do not all write)."""
    try:
        key.update(actions=[ApiKeyModel.last_used_at.set(now)],
                   condition=(ApiKeyModel.last_used_at.does_not_exist()
                              | (ApiKeyModel.last_used_at < now - resolution)))
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


# --- admin changes: one Step each of an audited transaction (audit.commit) ---------------------

def _set_or_remove(model: type[Model], changes: Mapping[str, Any]) -> list[Any]:
    """Update actions: each attribute set to its value, or removed for None."""
    return [getattr(model, name).remove() if value is None
            else getattr(model, name).set(value) for name, value in changes.items()]


def new_brand_step(brand: BrandModel, conflict: str) -> Step:
    return Step("save", brand, BrandModel.brand_id.does_not_exist(), conflict=conflict)


def brand_settings_step(brand: BrandModel, changes: Mapping[str, Any], now: float) -> Step:
    """The brand's attributes in `changes` set (None: removed, back to the default)."""
    return Step("update", brand, BrandModel.brand_id.exists(),
                [BrandModel.updated_at.set(now), *_set_or_remove(BrandModel, changes)])


def new_key_step(key: ApiKeyModel) -> Step:
    return Step("save", key, ApiKeyModel.key_hash.does_not_exist())


def revoke_key_step(key: ApiKeyModel, now: float, conflict: str) -> Step:
    return Step("update", key, ApiKeyModel.revoked_at.does_not_exist(),
                [ApiKeyModel.revoked_at.set(now)], conflict=conflict)


def new_number_step(number: SenderNumberModel, conflict: str) -> Step:
    return Step("save", number, SenderNumberModel.number.does_not_exist(), conflict=conflict)


def number_settings_step(number: SenderNumberModel, changes: Mapping[str, Any],
                         conflict: str) -> Step:
    """The number's settings in `changes`, if it is still the same brand's."""
    return Step("update", number, SenderNumberModel.brand_id == number.brand_id,
                _set_or_remove(SenderNumberModel, changes), conflict=conflict)


def remove_number_step(number: SenderNumberModel, conflict: str) -> Step:
    """The number goes, if it is still the same brand's."""
    return Step("delete", number, SenderNumberModel.brand_id == number.brand_id,
                conflict=conflict)


def new_skill_step(skill: SkillModel, conflict: str) -> Step:
    return Step("save", skill, SkillModel.skill_id.does_not_exist(), conflict=conflict)


def skill_settings_step(skill: SkillModel, changes: Mapping[str, Any], conflict: str) -> Step:
    return Step("update", skill, SkillModel.skill_id.exists(),
                _set_or_remove(SkillModel, changes), conflict=conflict)
