"""The messages table: one item per (campaign, recipient) and its status transitions.

Every transition is a conditional write on the current status, so two consumers, a redelivered
SQS message or a late retry can never move a message twice (docs/design.md#invariant-3).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DeleteError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from chalicelib import aws
from chalicelib.store import bulk
from chalicelib.store.bulk import KeepGoing
from chalicelib.store.models import MessageModel, transaction_connection
from chalicelib.store.paging import decode_cursor, encode_cursor

DUE_SHARDS = 10
WAITING = ("SCHEDULED", "QUEUED")
TERMINAL = ("SENT", "DELIVERED", "UNDELIVERED", "FAILED", "SKIPPED", "RESPONDED")


def due_shard(phone: str) -> str:
    return f"due-{zlib.crc32(phone.encode()) % DUE_SHARDS}"


@dataclass(frozen=True)
class DueMessage:
    brand_id: str
    campaign_id: str
    phone: str
    due_at: float


def _conditional_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def _update(message: MessageModel, actions: list[Any], condition: Condition) -> bool:
    try:
        message.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if _conditional_failed(exc):
            return False
        raise
    return True


def key(campaign_id: str, phone: str) -> MessageModel:
    return MessageModel(campaign_id, phone)


def get(campaign_id: str, phone: str) -> MessageModel | None:
    try:
        return MessageModel.get(campaign_id, phone, consistent_read=True)
    except MessageModel.DoesNotExist:
        return None


def write_all(items: Iterable[MessageModel]) -> int:
    count = 0
    with MessageModel.batch_write() as batch:
        for item in items:
            batch.save(item)
            count += 1
    return count


def delete_campaign_messages(campaign_id: str) -> int:
    """Every message row of the campaign (the lines of lists it no longer has). Consistent
    reads: the rows a store that just stopped wrote last are deleted too."""
    keys = [MessageModel(campaign_id, item.phone) for item in MessageModel.query(
        campaign_id, attributes_to_get=["campaign_id", "phone"], consistent_read=True)]
    bulk.delete_keys(keys)
    return len(keys)


def pending_message(campaign_id: str, phone: str, *, brand_id: str, skill: str, channel: str,
                    line: int, text: str | None, variables: list[str] | None,
                    fallback_text: str | None, zones: Sequence[str], country: str | None,
                    now: float, list_id: int, external_id: str | None = None) -> dict[str, Any]:
    """A PENDING MessageModel item, serialised as MessageModel.serialize() would (a test checks
    it); written by hand because pynamodb's serialize costs ~0.3 ms an item, 30 s for 100k."""
    stamp = {"N": repr(now)}
    item: dict[str, Any] = {
        "campaign_id": {"S": campaign_id}, "phone": {"S": phone}, "brand_id": {"S": brand_id},
        "skill": {"S": skill}, "channel": {"S": channel}, "line": {"N": str(line)},
        "list_id": {"N": str(list_id)}, "status": {"S": "PENDING"}, "attempts": {"N": "0"},
        "created_at": stamp, "updated_at": stamp, "zones": {"L": [{"S": z} for z in zones]},
    }
    if text is not None:
        item["text"] = {"S": text}
    if variables is not None:
        item["variables"] = {"L": [{"S": v} for v in variables]}
    if fallback_text is not None:
        item["fallback_text"] = {"S": fallback_text}
    if country is not None:
        item["country"] = {"S": country}
    if external_id is not None:
        item["external_id"] = {"S": external_id}
    return item


def phones_in_list(campaign_id: str, phones: Sequence[str], list_id: int) -> set[str]:
    """Which of `phones` are recipients of the campaign's list `list_id` (an appended line must
    not overwrite one: messages are keyed (campaign, phone))."""
    found: set[str] = set()
    keys = [(campaign_id, phone) for phone in dict.fromkeys(phones)]
    for item in MessageModel.batch_get(keys, consistent_read=True,
                                       attributes_to_get=["phone", "list_id"]):
        if int(item.list_id or 0) == list_id:
            found.add(item.phone)
    return found


def put_pending(items: list[dict[str, Any]], progress: Callable[[int], None] | None = None,
                 keep_going: KeepGoing | None = None) -> bool:
    meta: Any = MessageModel.Meta
    return bulk.write([{"PutRequest": {"Item": item}} for item in items], str(meta.table_name),
                  progress, keep_going)


def iter_campaign(campaign_id: str, consistent: bool = False) -> Iterator[MessageModel]:
    return MessageModel.query(campaign_id, consistent_read=consistent)


# What the launch fan-out reads of each recipient: reading only these (not the text, variables
# and stamps) halves what a 100k-row list costs to read and deserialise.
LAUNCH_ATTRIBUTES = ["campaign_id", "phone", "status", "list_id", "line", "zones"]


def iter_for_launch(campaign_id: str) -> Iterator[MessageModel]:
    """The campaign's recipients with the attributes launch needs (status, list, line, zones),
    read consistently."""
    return MessageModel.query(campaign_id, consistent_read=True,
                              attributes_to_get=LAUNCH_ATTRIBUTES)


def of_list(list_id: int) -> Condition:
    """The recipients of the campaign's list `list_id` (0: stored before lists had ids)."""
    if list_id:
        return MessageModel.list_id == list_id
    condition: Condition = MessageModel.list_id.does_not_exist() | (MessageModel.list_id == 0)
    return condition


def in_list(message: MessageModel, list_id: int) -> bool:
    return int(message.list_id or 0) == int(list_id or 0)


def page(campaign_id: str, limit: int, cursor: str | None, status: str | None = None,
         list_id: int = 0) -> tuple[list[MessageModel], str | None]:
    """The recipients of the campaign's list (a page may hold fewer than `limit`)."""
    condition = of_list(list_id)
    if status:
        condition &= MessageModel.status == status
    scope = f"messages#{campaign_id}#{list_id}#{status or ''}"
    result = MessageModel.query(campaign_id, filter_condition=condition, limit=limit,
                                last_evaluated_key=decode_cursor(cursor, scope))
    items = list(result)
    return items, encode_cursor(result.last_evaluated_key, scope)


def forget_pending(campaign_id: str, phone: str, list_id: int) -> bool:
    """Delete a PENDING recipient of a list that is not (or no longer) the campaign's."""
    try:
        key(campaign_id, phone).delete(condition=(MessageModel.status == "PENDING")
                                       & of_list(list_id))
    except DeleteError as exc:
        if _conditional_failed(exc):
            return False
        raise
    return True


def iter_due(until: float, shards: Sequence[str] | None = None) -> Iterator[DueMessage]:
    """SCHEDULED messages whose due instant is at or before `until`, from the sparse index."""
    for shard in shards or [f"due-{n}" for n in range(DUE_SHARDS)]:
        for item in MessageModel.due_index.query(shard, MessageModel.due_at <= until):
            if item.status != "SCHEDULED":
                continue
            yield DueMessage(item.brand_id, item.campaign_id, item.phone, float(item.due_at or 0))


def mark_queued(messages: Sequence[DueMessage], now: float) -> int:
    """SCHEDULED -> QUEUED for messages just put on SQS; those that moved on meanwhile are left.

    Conditioned on the due instant the releaser read as well as on SCHEDULED: a consumer may
    have taken the message from an earlier queue entry and parked it again as SCHEDULED at a
    later instant (window closed, long wait); that message has no entry on the queue for its new
    instant, so it must stay SCHEDULED (on the due-index) for the release schedule to find.
    """
    updates = [(key(m.campaign_id, m.phone), _queued_actions(now), _released_as(m))
               for m in messages]
    return sum(_transact_updates(updates[start:start + TRANSACTION_ITEMS])
               for start in range(0, len(updates), TRANSACTION_ITEMS))


Update = tuple[MessageModel, list[Any], Condition]
TRANSACTION_ITEMS = 100  # DynamoDB's most items in one transaction
CLAIM_WRITERS = 16  # a send batch's claims in flight at once
RETRIES_WITHOUT_REFUSED = 2  # a transaction is tried again without the items it refused


def _transact_updates(updates: Sequence[Update]) -> int:
    """Conditional updates of up to 100 messages in one transaction; those whose condition no
    longer holds (moved on meanwhile) are left out and the rest written again, so a chunk with a
    few moved messages costs two transactions, not a hundred single writes. Returns how many
    were written."""
    pending = list(updates)
    for _ in range(RETRIES_WITHOUT_REFUSED + 1):
        if not pending:
            return 0
        try:
            with TransactWrite(connection=transaction_connection()) as tx:
                for message, actions, condition in pending:
                    tx.update(message, actions=actions, condition=condition)
            return len(pending)
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons or []
            refused = {i for i, reason in enumerate(reasons)
                       if reason is not None and reason.code == "ConditionalCheckFailed"}
            if not refused:
                break  # a conflict with another transaction: one by one below
            pending = [u for i, u in enumerate(pending) if i not in refused]
    return sum(_update(message, actions, condition) for message, actions, condition in pending)


def _released_as(msg: DueMessage) -> Condition:
    condition: Condition = (MessageModel.status == "SCHEDULED") & (
        MessageModel.due_at == msg.due_at)
    return condition


def _queued_actions(now: float) -> list[Any]:
    return [MessageModel.status.set("QUEUED"), MessageModel.due_shard.remove(),
            MessageModel.queued_at.set(now), MessageModel.updated_at.set(now)]


def reschedule(campaign_id: str, phone: str, due_at: float, now: float) -> bool:
    """QUEUED -> SCHEDULED: the message waits in the table (not in SQS) until it is due."""
    return _update(
        key(campaign_id, phone),
        [MessageModel.status.set("SCHEDULED"), MessageModel.due_at.set(due_at),
         MessageModel.due_shard.set(due_shard(phone)), MessageModel.updated_at.set(now)],
        MessageModel.status.is_in(*WAITING),
    )


def _claim_actions(phone: str, attempt_id: str, now: float, expires: float) -> list[Any]:
    return [MessageModel.status.set("SENDING"), MessageModel.attempt_id.set(attempt_id),
            MessageModel.claimed_at.set(now), MessageModel.claim_expires.set(expires),
            MessageModel.attempts.add(1), MessageModel.due_shard.set(due_shard(phone)),
            MessageModel.due_at.set(expires), MessageModel.updated_at.set(now)]


def claim(campaign_id: str, phone: str, attempt_id: str, now: float,
          lease_seconds: float) -> MessageModel | None:
    """WAITING -> SENDING, owned by `attempt_id` until the lease expires. None: not ours.

    Returns the message as stored after the claim (text, zones, variables...), so claiming
    needs no separate read. While SENDING it stays on the due-index at its claim expiry.
    """
    message = key(campaign_id, phone)
    ok = _update(message, _claim_actions(phone, attempt_id, now, now + lease_seconds),
                 MessageModel.status.is_in(*WAITING))
    return message if ok else None


def claim_many(campaign_id: str, attempts: Mapping[str, str], now: float,
               lease_seconds: float) -> dict[str, MessageModel]:
    """claim() of several messages of one campaign (phone -> attempt id), CLAIM_WRITERS at a
    time: a send batch's claims one after another were most of its time before its first slot.
    Returns the messages this call claimed, as stored after the claim, by phone; the others were
    not WAITING (a duplicate delivery, claimed elsewhere, removed).

    One write each, not a transaction of them all: a transaction would be two requests instead
    of a hundred but costs two write units per item, and its bursts of 200 units made the
    simulated table throttle (bench/simulate.py, "claims as one transaction")."""
    def one(phone: str) -> tuple[str, MessageModel | None]:
        return phone, claim(campaign_id, phone, attempts[phone], now, lease_seconds)

    if len(attempts) <= 1:
        claimed = [one(phone) for phone in attempts]
    else:
        with ThreadPoolExecutor(max_workers=min(CLAIM_WRITERS, len(attempts))) as pool:
            claimed = list(pool.map(one, attempts))
    return {phone: message for phone, message in claimed if message is not None}


def take_over(campaign_id: str, phone: str, old_attempt: str, attempt_id: str, now: float,
              lease_seconds: float) -> MessageModel | None:
    """An expired claim of another attempt becomes ours (to reconcile it). None: not ours."""
    message = key(campaign_id, phone)
    expires = now + lease_seconds
    ok = _update(
        message,
        [MessageModel.attempt_id.set(attempt_id), MessageModel.claim_expires.set(expires),
         MessageModel.due_at.set(expires), MessageModel.updated_at.set(now)],
        (MessageModel.status == "SENDING") & (MessageModel.attempt_id == old_attempt)
        & (MessageModel.claim_expires <= now),
    )
    return message if ok else None


def iter_expired_claims(now: float, shards: Sequence[str] | None = None) -> Iterator[DueMessage]:
    """SENDING messages whose claim expired: the outcome of their send is unknown."""
    for shard in shards or [f"due-{n}" for n in range(DUE_SHARDS)]:
        for item in MessageModel.due_index.query(shard, MessageModel.due_at <= now):
            if item.status == "SENDING":
                yield DueMessage(item.brand_id, item.campaign_id, item.phone,
                                 float(item.due_at or 0))


def _claimed(attempt_id: str) -> Condition:
    condition: Condition = (MessageModel.status == "SENDING") & (
        MessageModel.attempt_id == attempt_id)
    return condition


def record_sent(campaign_id: str, phone: str, attempt_id: str, sid: str, channel: str,
                now: float, due_at: float | None = None) -> bool:
    actions = [MessageModel.status.set("SENT"), MessageModel.sid.set(sid),
               MessageModel.sent_channel.set(channel), MessageModel.sent_at.set(now),
               MessageModel.updated_at.set(now), MessageModel.claim_expires.remove(),
               MessageModel.due_shard.remove()]
    if due_at:
        actions.append(MessageModel.due_at.set(due_at))
    return _update(key(campaign_id, phone), actions, _claimed(attempt_id))


def record_failed(campaign_id: str, phone: str, attempt_id: str, code: str, reason: str,
                  now: float) -> bool:
    return _update(
        key(campaign_id, phone),
        [MessageModel.status.set("FAILED"), MessageModel.error_code.set(code),
         MessageModel.reason.set(reason), MessageModel.updated_at.set(now),
         MessageModel.claim_expires.remove(), MessageModel.due_shard.remove()],
        _claimed(attempt_id),
    )


def release_claim(campaign_id: str, phone: str, attempt_id: str, code: str | None,
                  reason: str | None, now: float, due_at: float | None = None,
                  in_queue: bool = True, counted: bool = True) -> bool:
    """SENDING -> back to waiting, when the gateway certainly did not take the message.

    in_queue: it goes back on SQS (QUEUED, due within the queue's delay); otherwise it waits in
    the table (SCHEDULED at `due_at`) for the release schedule.
    counted: the claim was a send attempt (it reached the gateway, or its outcome was unknown);
    a claim given back untouched (window closed, waiting for a send slot) does not count
    towards the retry cap.
    """
    actions: list[Any] = [MessageModel.updated_at.set(now), MessageModel.claim_expires.remove()]
    if not counted:
        actions.append(MessageModel.attempts.add(-1))
    if code is not None:
        actions += [MessageModel.error_code.set(code), MessageModel.reason.set(reason or "")]
    if in_queue:
        actions += [MessageModel.status.set("QUEUED"), MessageModel.due_shard.remove(),
                    MessageModel.queued_at.set(now)]
        if due_at:
            actions.append(MessageModel.due_at.set(due_at))
    else:
        actions += [MessageModel.status.set("SCHEDULED"), MessageModel.due_at.set(due_at or now),
                    MessageModel.due_shard.set(due_shard(phone))]
    return _update(key(campaign_id, phone), actions, _claimed(attempt_id))


RETRIES_EXHAUSTED = "RETRIES_EXHAUSTED"


def record_exhausted(campaign_id: str, phone: str, attempt_id: str, attempts: int,
                     last_code: str | None, last_reason: str | None, now: float) -> bool:
    """SENDING -> FAILED (RETRIES_EXHAUSTED): the retry cap (settings.max_send_attempts) is
    reached; the reason names the last error so the user can see what kept failing."""
    last = f"{last_code}: {last_reason}" if last_code else (last_reason or "no answer")
    return record_failed(campaign_id, phone, attempt_id, RETRIES_EXHAUSTED,
                         f"gave up after {attempts} send attempts; the last one: {last}", now)


def mark_ambiguous(campaign_id: str, phone: str, attempt_id: str, code: str, reason: str,
                   now: float, reconcile_after: float) -> bool:
    """The gateway may or may not have taken it: stays SENDING, reconciled after a grace."""
    return _update(
        key(campaign_id, phone),
        [MessageModel.claim_expires.set(now + reconcile_after),
         MessageModel.due_at.set(now + reconcile_after), MessageModel.error_code.set(code),
         MessageModel.reason.set(reason), MessageModel.updated_at.set(now)],
        _claimed(attempt_id),
    )


def skip_claimed(campaign_id: str, phone: str, attempt_id: str, code: str, reason: str,
                 now: float) -> bool:
    return _update(
        key(campaign_id, phone),
        [MessageModel.status.set("SKIPPED"), MessageModel.error_code.set(code),
         MessageModel.reason.set(reason), MessageModel.due_shard.remove(),
         MessageModel.claim_expires.remove(), MessageModel.updated_at.set(now)],
        _claimed(attempt_id),
    )


def skip(campaign_id: str, phone: str, code: str, reason: str, now: float,
         from_statuses: Sequence[str] = WAITING) -> bool:
    return _update(
        key(campaign_id, phone),
        [MessageModel.status.set("SKIPPED"), MessageModel.error_code.set(code),
         MessageModel.reason.set(reason), MessageModel.due_shard.remove(),
         MessageModel.updated_at.set(now)],
        MessageModel.status.is_in(*from_statuses),
    )


SCHEDULE_WRITERS = 4  # transactions in flight at once during the launch fan-out


def schedule_many(campaign_id: str, plan: Sequence[tuple[str, float | None]], now: float,
                  no_window_reason: str, skill: str) -> int:
    """PENDING -> SCHEDULED at each due instant (None: SKIPPED, the window never opens), with
    the campaign's skill as it is at launch (a DRAFT's skill may change after its list).

    Written 100 at a time in transactions conditioned on PENDING, so a launch job that runs twice
    cannot move a message that is already on its way; a few transactions at once (their items
    are distinct recipients, so they cannot conflict with each other).
    """
    chunks = [plan[start:start + 100] for start in range(0, len(plan), 100)]
    if len(chunks) <= 1:
        return sum(_schedule_chunk(campaign_id, c, now, no_window_reason, skill) for c in chunks)
    with ThreadPoolExecutor(max_workers=SCHEDULE_WRITERS) as pool:
        return sum(pool.map(lambda c: _schedule_chunk(campaign_id, c, now, no_window_reason,
                                                      skill), chunks))


def _schedule_chunk(campaign_id: str, chunk: Sequence[tuple[str, float | None]], now: float,
                    no_window_reason: str, skill: str) -> int:
    return _transact_updates([
        (key(campaign_id, phone), _plan_actions(phone, due, now, no_window_reason, skill),
         MessageModel.status == "PENDING") for phone, due in chunk])


def _plan_actions(phone: str, due: float | None, now: float, no_window_reason: str,
                  skill: str) -> list[Any]:
    stamp = [MessageModel.skill.set(skill), MessageModel.updated_at.set(now)]
    if due is None:
        return [MessageModel.status.set("SKIPPED"), MessageModel.error_code.set("NO_WINDOW"),
                MessageModel.reason.set(no_window_reason), *stamp]
    return [MessageModel.status.set("SCHEDULED"), MessageModel.due_at.set(due),
            MessageModel.due_shard.set(due_shard(phone)), *stamp]


# --- replies and delivery status ---------------------------------------------------

DELIVERABLE = ("SENT", "DELIVERED", "UNDELIVERED")  # reached the gateway; a reply may follow


def latest_sent_to(brand_id: str, phone: str, since: float) -> MessageModel | None:
    """The brand's latest message sent to `phone` at or after `since` (phone-index, sparse)."""
    for item in MessageModel.phone_index.query(phone, MessageModel.sent_at >= since,
                                                filter_condition=MessageModel.brand_id == brand_id,
                                                scan_index_forward=False):
        return item
    return None


def find_by_sid(sid: str) -> tuple[str, str] | None:
    """(campaign_id, phone) of the message the gateway knows as `sid`, once its send is recorded
    and indexed (sid-index is eventually consistent)."""
    for item in MessageModel.sid_index.query(sid, limit=1):
        return item.campaign_id, item.phone
    return None


def mark_delivered(campaign_id: str, phone: str, now: float) -> bool:
    """SENT (or UNDELIVERED, when the carrier got there after all) -> DELIVERED. A RESPONDED
    message keeps its status and only learns when it was delivered."""
    if _update(key(campaign_id, phone),
               [MessageModel.status.set("DELIVERED"), MessageModel.delivered_at.set(now),
                MessageModel.error_code.remove(), MessageModel.reason.remove(),
                MessageModel.updated_at.set(now)],
               MessageModel.status.is_in("SENT", "UNDELIVERED")):
        return True
    _update(key(campaign_id, phone), [MessageModel.delivered_at.set(now)],
            (MessageModel.status == "RESPONDED") & MessageModel.delivered_at.does_not_exist())
    return False


def mark_not_delivered(campaign_id: str, phone: str, status: str, code: str, reason: str,
                       now: float) -> bool:
    """SENT -> UNDELIVERED or FAILED with the gateway's error code; never after DELIVERED or
    RESPONDED (a late or reordered callback cannot undo what the consumer did)."""
    if status not in ("UNDELIVERED", "FAILED"):
        raise ValueError(f"not a delivery failure status: {status}")
    return _update(key(campaign_id, phone),
                   [MessageModel.status.set(status), MessageModel.error_code.set(code),
                    MessageModel.reason.set(reason), MessageModel.updated_at.set(now)],
                   MessageModel.status == "SENT")


def mark_responded(campaign_id: str, phone: str, now: float) -> bool:
    """-> RESPONDED, once: the first reply counts, later ones change nothing."""
    return _update(key(campaign_id, phone),
                   [MessageModel.status.set("RESPONDED"), MessageModel.responded_at.set(now),
                    MessageModel.updated_at.set(now)],
                   MessageModel.status.is_in(*DELIVERABLE))


def mark_opted_out(brand_id: str, campaign_id: str, phone: str, received: tuple[str, ...],
                   now: float) -> bool:
    """Mark the message whose consumer opted out after receiving it (status in `received`);
    False when there is no such message of the brand, or it was marked already: the analytics
    count each consumer's opt-out once per message they received (services/metrics.py)."""
    return _update(key(campaign_id, phone), [MessageModel.opted_out_at.set(now)],
                   (MessageModel.brand_id == brand_id) & MessageModel.status.is_in(*received)
                   & MessageModel.opted_out_at.does_not_exist())


# --- raw items (DynamoDB JSON, as stream records carry them) for the counters' recount ---------

def raw_items() -> Iterator[dict[str, Any]]:
    """Every message item (a scan: `make recount` only)."""
    meta: Any = MessageModel.Meta
    paginator = aws.client("dynamodb").get_paginator("scan")
    for page_ in paginator.paginate(TableName=str(meta.table_name)):
        yield from page_.get("Items", [])


def raw_campaign_items(campaign_id: str) -> Iterator[dict[str, Any]]:
    """The campaign's message items."""
    meta: Any = MessageModel.Meta
    paginator = aws.client("dynamodb").get_paginator("query")
    for page_ in paginator.paginate(
            TableName=str(meta.table_name), KeyConditionExpression="campaign_id = :c",
            ExpressionAttributeValues={":c": {"S": campaign_id}}):
        yield from page_.get("Items", [])
