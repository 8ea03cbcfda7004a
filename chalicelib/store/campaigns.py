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
FANOUT_SHARD = "fanout"


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


# --- the launch fan-out, until it has finished (issue 11.3) ----------------------------------

def fanout_actions(now: float) -> list[Any]:
    """Written with RUNNING: the campaign's fan-out is asked for and not finished yet."""
    return [CampaignModel.fanout_shard.set(FANOUT_SHARD), CampaignModel.fanout_at.set(now)]


def stalled_fanouts(asked_before: float) -> Iterator[tuple[str, str]]:
    """(brand_id, campaign_id) of campaigns whose fan-out was asked for before `asked_before`
    and has not finished."""
    for item in CampaignModel.fanout_index.query(FANOUT_SHARD,
                                                 CampaignModel.fanout_at <= asked_before):
        yield item.brand_id, item.campaign_id


def ask_fanout_again(brand_id: str, campaign_id: str, now: float) -> bool:
    """The fan-out is asked for again now; False when it finished or the campaign stopped
    running meanwhile (nothing to ask for)."""
    return _update_if(brand_id, campaign_id, [CampaignModel.fanout_at.set(now)],
                      CampaignModel.fanout_shard.exists() & (CampaignModel.status == "RUNNING"))


def fanout_done(brand_id: str, campaign_id: str) -> None:
    """The fan-out finished (or the campaign no longer runs): off the fan-out index."""
    _update_if(brand_id, campaign_id,
               [CampaignModel.fanout_shard.remove(), CampaignModel.fanout_at.remove()],
               CampaignModel.campaign_id.exists())


def _update_if(brand_id: str, campaign_id: str, actions: list[Any],
               condition: Condition) -> bool:
    try:
        CampaignModel(brand_id, campaign_id).update(actions=actions, condition=condition)
    except UpdateError as exc:
        if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
            return False
        raise
    return True
