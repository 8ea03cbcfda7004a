"""Campaigns, scoped to their brand: every read takes the brand id (docs/design.md#invariant-7).

Every write of a campaign row is a named transition here (the services say what happens, this
module says how): the lifecycle (edit_draft, launch, start_scheduled, cancel), the launch fan-out,
the recipient list's bookkeeping (new_list, take_list_writer, finish_list, abandon_list,
release_list_writer, forget_list) and a CSV upload's progress (start_upload, upload_progress).
A failed condition raises Conflict with the caller's message; the caller knows what it means.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.condition import Condition

from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.store.models import (
    CampaignModel,
    ConsentAttribute,
    ListWriterAttribute,
    UploadAttribute,
)
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


def _update(campaign: CampaignModel, actions: list[Any], condition: Condition,
            conflict_message: str) -> None:
    try:
        campaign.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
            raise Conflict(conflict_message) from None
        raise


def recently_touched(since: float) -> Iterator[tuple[str, str]]:
    """(brand_id, campaign_id) of RUNNING campaigns and of those launched, changed or created
    since `since` (a scan: the daily recount only)."""
    for item in CampaignModel.scan(attributes_to_get=["brand_id", "campaign_id", "status",
                                                      "launched_at", "updated_at",
                                                      "created_at"]):
        touched = max(float(getattr(item, name, None) or 0)
                      for name in ("launched_at", "updated_at", "created_at"))
        if item.status == "RUNNING" or touched >= since:
            yield item.brand_id, item.campaign_id


# --- the lifecycle -----------------------------------------------------------------------------

def _set_or_remove(changes: Mapping[str, Any]) -> list[Any]:
    return [getattr(CampaignModel, name).remove() if value is None
            else getattr(CampaignModel, name).set(value) for name, value in changes.items()]


def edit_draft(campaign: CampaignModel, changes: Mapping[str, Any], now: float, *,
               forget_recipients: bool, conflict: str) -> None:
    """A DRAFT's fields change (None removes one); `forget_recipients`: its list goes too (see
    forget_list)."""
    actions = [*_set_or_remove(changes), CampaignModel.updated_at.set(now)]
    if forget_recipients:
        actions += _forget_list_actions()
    _update(campaign, actions, CampaignModel.status == "DRAFT", conflict)


def launch(campaign: CampaignModel, consent: ConsentAttribute, now: float, *, scheduled: bool,
           conflict: str) -> None:
    """DRAFT -> SCHEDULED (on the launch index) or RUNNING (fan-out asked for), with the consent
    given; exactly the list read by the caller: no store holds the list, no newer list came."""
    actions: list[Any] = [CampaignModel.consent.set(consent), CampaignModel.updated_at.set(now)]
    if scheduled:
        actions += [CampaignModel.status.set("SCHEDULED"),
                    CampaignModel.launch_shard.set(LAUNCH_SHARD)]
    else:
        actions += [CampaignModel.status.set("RUNNING"), CampaignModel.launched_at.set(now),
                    *_fanout_actions(now)]
    _update(campaign, actions,
            _is_draft_list(int(campaign.list_id or 0))
            & CampaignModel.list_writer.does_not_exist(), conflict)


def start_scheduled(campaign: CampaignModel, now: float) -> None:
    """SCHEDULED -> RUNNING, off the launch index, fan-out asked for."""
    _update(campaign,
            [CampaignModel.status.set("RUNNING"), CampaignModel.launched_at.set(now),
             CampaignModel.launch_shard.remove(), CampaignModel.updated_at.set(now),
             *_fanout_actions(now)],
            CampaignModel.status == "SCHEDULED", "campaign changed meanwhile")


def cancel(campaign: CampaignModel, now: float, conflict: str) -> None:
    """DRAFT, SCHEDULED or RUNNING -> CANCELLED."""
    _update(campaign,
            [CampaignModel.status.set("CANCELLED"), CampaignModel.cancelled_at.set(now),
             CampaignModel.launch_shard.remove(), CampaignModel.updated_at.set(now)],
            CampaignModel.status.is_in("DRAFT", "SCHEDULED", "RUNNING"), conflict)


def due_launches(until: float) -> Iterator[tuple[str, str]]:
    """(brand_id, campaign_id) of SCHEDULED campaigns whose launch time has come."""
    for item in CampaignModel.launch_index.query(LAUNCH_SHARD, CampaignModel.launch_at <= until):
        yield item.brand_id, item.campaign_id


# --- the launch fan-out, until it has finished ----------------------------------

def _fanout_actions(now: float) -> list[Any]:
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


def fanout_alive(brand_id: str, campaign_id: str, now: float) -> bool:
    """The launch job is still at work on the fan-out (its lease, renewed): the release
    schedule does not ask for it again before settings.fanout_grace_seconds from now."""
    return ask_fanout_again(brand_id, campaign_id, now)


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


# --- the recipient list's bookkeeping (services/recipients.py says when) -----------------------
# Each list a campaign is given gets the next list id; the lines stored carry it. One store at a
# time holds the campaign's list_writer slot (with a lease) and writes lines.

def _is_draft_list(list_id: int) -> Any:
    """Condition: the campaign is a DRAFT whose list is `list_id`."""
    current = (CampaignModel.list_id == list_id if list_id else
               CampaignModel.list_id.does_not_exist() | (CampaignModel.list_id == 0))
    return (CampaignModel.status == "DRAFT") & current


def _writes_list(list_id: int) -> Any:
    return CampaignModel.list_writer.list_id == list_id  # type: ignore[attr-defined]


def _is_upload(upload_id: str) -> Any:
    return CampaignModel.upload.upload_id == upload_id  # type: ignore[attr-defined]


def _forget_list_actions() -> list[Any]:
    return [CampaignModel.list_id.add(1), CampaignModel.recipients_total.set(0),
            CampaignModel.recipient_errors.set(0), CampaignModel.upload.remove()]


def new_list(campaign: CampaignModel, now: float, *, upload_id: str | None,
             drop_upload: bool, conflict: str) -> int:
    """The DRAFT campaign (still on upload `upload_id`, when given) gets a new, empty list; its
    id. `drop_upload`: any upload is superseded too."""
    condition = CampaignModel.status == "DRAFT"
    if upload_id is not None:
        condition &= _is_upload(upload_id)
    actions = [CampaignModel.list_id.add(1), CampaignModel.recipients_total.set(0),
               CampaignModel.recipient_errors.set(0), CampaignModel.updated_at.set(now)]
    if drop_upload:
        actions.append(CampaignModel.upload.remove())
    _update(campaign, actions, condition, conflict)
    return int(campaign.list_id)


def take_list_writer(campaign: CampaignModel, list_id: int, now: float, lease: float) -> bool:
    """The writer slot for the DRAFT's list `list_id`, if free or its lease ended."""
    try:
        _update(campaign,
                [CampaignModel.list_writer.set(ListWriterAttribute(list_id=list_id,
                                                                   expires_at=now + lease))],
                _is_draft_list(list_id) & (
                    CampaignModel.list_writer.does_not_exist()
                    | (CampaignModel.list_writer.expires_at < now)),  # type: ignore[attr-defined]
                "")
    except Conflict:
        return False
    return True


def finish_list(campaign: CampaignModel, list_id: int, now: float, *, accepted: int,
                rejected: int, upload_id: str | None, upload_done: Mapping[str, Any] | None,
                conflict: str) -> None:
    """The list's lines are all stored: its counts, the slot given up (and the upload's last
    progress) - if the DRAFT's list is still `list_id`, written by this store."""
    condition = _is_draft_list(list_id) & _writes_list(list_id)
    if upload_id is not None:
        condition &= _is_upload(upload_id)
    _update(campaign,
            [CampaignModel.recipients_total.set(accepted),
             CampaignModel.recipient_errors.set(rejected), CampaignModel.list_writer.remove(),
             CampaignModel.updated_at.set(now),
             *(_upload_actions(now, upload_done) if upload_done is not None else [])],
            condition, conflict)


def abandon_list(campaign: CampaignModel, list_id: int) -> None:
    """Give the writer slot up; a list left unfinished while it is still the campaign's is
    abandoned: the campaign moves on to an empty list."""
    try:
        _update(campaign, [CampaignModel.list_writer.remove(), CampaignModel.list_id.add(1),
                           CampaignModel.recipients_total.set(0),
                           CampaignModel.recipient_errors.set(0)],
                _writes_list(list_id) & (CampaignModel.list_id == list_id), "")
    except Conflict:
        # not ours any more when this fails too (its lease ran out and another store took it)
        release_list_writer(campaign, list_id)


def finish_append(campaign: CampaignModel, list_id: int, accepted: int, now: float,
                  conflict_message: str) -> None:
    """Count the lines an append (JSON recipients) added and give the writer slot up, if the
    campaign is still a DRAFT whose list is `list_id`, written by this append (Conflict
    otherwise)."""
    current = (CampaignModel.list_id == list_id if list_id else
               CampaignModel.list_id.does_not_exist() | (CampaignModel.list_id == 0))
    _update(campaign,
            [CampaignModel.recipients_total.add(accepted), CampaignModel.list_writer.remove(),
             CampaignModel.updated_at.set(now)],
            (CampaignModel.status == "DRAFT") & current & _writes_list(list_id),
            conflict_message)


def release_list_writer(campaign: CampaignModel, list_id: int) -> None:
    """Give the writer slot up, if this store (of list `list_id`) still holds it."""
    with contextlib.suppress(Conflict):
        _update(campaign, [CampaignModel.list_writer.remove()], _writes_list(list_id), "")


# --- a CSV upload ----------------------------------------------------------------------------

def start_upload(campaign: CampaignModel, upload_id: str, key: str, now: float,
                 conflict: str) -> None:
    """The DRAFT's latest upload is `upload_id` (WAITING for its file)."""
    upload = UploadAttribute(upload_id=upload_id, key=key, status="WAITING", rows_done=0,
                             accepted=0, rejected=0, created_at=now, updated_at=now)
    _update(campaign, [CampaignModel.upload.set(upload), CampaignModel.updated_at.set(now)],
            CampaignModel.status == "DRAFT", conflict)


def _upload_actions(now: float, changes: Mapping[str, Any]) -> list[Any]:
    actions = [CampaignModel.upload.updated_at.set(now)]  # type: ignore[attr-defined]
    for name, value in changes.items():
        actions.append(getattr(CampaignModel.upload, name).set(value))
    return actions


def upload_progress(campaign: CampaignModel, upload_id: str, now: float,
                    changes: Mapping[str, Any], conflict: str) -> None:
    """How far upload `upload_id`'s parse got (status, rows_done, accepted, ...), if it is still
    the campaign's upload."""
    _update(campaign, _upload_actions(now, changes), _is_upload(upload_id), conflict)
