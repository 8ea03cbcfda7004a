"""Brands, their sender numbers, skills and API keys."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.models import Model

from chalicelib.domain.errors import Conflict, NotFound
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


# --- administration (issue 7) -----------------------------------------------------------------

def find_brand(brand_id: str) -> BrandModel | None:
    try:
        return BrandModel.get(brand_id)
    except DoesNotExist:
        return None


def brand_keys(brand_id: str) -> list[ApiKeyModel]:
    return list(ApiKeyModel.brand_index.query(brand_id))


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
