"""Campaigns, scoped to their brand: every read takes the brand id (docs/design.md#invariant-7)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.condition import Condition

from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.store.models import CampaignModel
from chalicelib.store.paging import decode_cursor, encode_cursor

LAUNCH_SHARD = "scheduled"


def get(brand_id: str, campaign_id: str, consistent: bool = True) -> CampaignModel:
    try:
        return CampaignModel.get(brand_id, campaign_id, consistent_read=consistent)
    except DoesNotExist:
        raise NotFound(f"campaign {campaign_id} does not exist") from None


def create(campaign: CampaignModel) -> None:
    campaign.save(condition=CampaignModel.campaign_id.does_not_exist())


def page(brand_id: str, limit: int, cursor: str | None) -> tuple[list[CampaignModel], str | None]:
    scope = f"campaigns#{brand_id}"
    result = CampaignModel.query(brand_id, scan_index_forward=False, limit=limit,
                                 last_evaluated_key=decode_cursor(cursor, scope))
    items = list(result)
    return items, encode_cursor(result.last_evaluated_key, scope)


def iter_brand(brand_id: str) -> Iterator[CampaignModel]:
    return CampaignModel.query(brand_id, scan_index_forward=False)


def update(campaign: CampaignModel, actions: list[Any], condition: Condition,
           conflict_message: str) -> None:
    try:
        campaign.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
            raise Conflict(conflict_message) from None
        raise


def due_launches(until: float) -> Iterator[tuple[str, str]]:
    """(brand_id, campaign_id) of SCHEDULED campaigns whose launch time has come."""
    for item in CampaignModel.launch_index.query(LAUNCH_SHARD, CampaignModel.launch_at <= until):
        yield item.brand_id, item.campaign_id
