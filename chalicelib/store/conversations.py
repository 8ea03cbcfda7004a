"""Conversations, scoped to their brand: every read takes the brand id
(docs/design.md#invariant-7)."""

from __future__ import annotations

from collections.abc import Iterable

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.domain.errors import NotFound
from chalicelib.store.inbound_models import ConversationModel, EntryAttribute, InboundMarkerModel
from chalicelib.store.paging import decode_cursor, encode_cursor

LAST_TEXT_CHARS = 160


def brand_skill(brand_id: str, skill: str) -> str:
    return f"{brand_id}#{skill}"


def get(brand_id: str, conversation_id: str) -> ConversationModel:
    try:
        return ConversationModel.get(brand_id, conversation_id, consistent_read=True)
    except DoesNotExist:
        raise NotFound(f"conversation {conversation_id} does not exist") from None


def find(brand_id: str, conversation_id: str) -> ConversationModel | None:
    try:
        return ConversationModel.get(brand_id, conversation_id, consistent_read=True)
    except DoesNotExist:
        return None


def create(conversation: ConversationModel) -> None:
    conversation.save(condition=ConversationModel.conversation_id.does_not_exist())


def discard(conversation: ConversationModel) -> None:
    """A conversation created and never shown (another opened at the same moment) goes."""
    conversation.delete()


def append(conversation: ConversationModel, entry: EntryAttribute, now: float,
           require_open: bool = True) -> bool:
    """Add one transcript entry atomically (list_append); False if it was closed meanwhile."""
    condition = ConversationModel.status == "open" if require_open else None
    try:
        conversation.update(
            actions=[ConversationModel.entries.set(ConversationModel.entries.append([entry])),
                     ConversationModel.last_text.set(entry.text[:LAST_TEXT_CHARS]),
                     ConversationModel.updated_at.set(now)],
            condition=condition)
    except UpdateError as exc:
        if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def close(conversation: ConversationModel, by: str, now: float) -> bool:
    """open -> closed; False if it was closed already."""
    try:
        conversation.update(
            actions=[ConversationModel.status.set("closed"), ConversationModel.closed_at.set(now),
                     ConversationModel.closed_by.set(by), ConversationModel.updated_at.set(now)],
            condition=ConversationModel.status == "open")
    except UpdateError as exc:
        if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def page(brand_id: str, skill: str | None, status: str | None, limit: int,
         cursor: str | None) -> tuple[list[ConversationModel], str | None]:
    """Newest first; by skill from the skill index, else the brand's whole list."""
    condition = ConversationModel.status == status if status else None
    scope = f"conversations#{brand_id}#{skill or ''}#{status or ''}"
    if skill:
        result = ConversationModel.skill_index.query(
            brand_skill(brand_id, skill), filter_condition=condition, scan_index_forward=False,
            limit=limit, last_evaluated_key=decode_cursor(cursor, scope))
    else:
        result = ConversationModel.query(
            brand_id, filter_condition=condition, scan_index_forward=False, limit=limit,
            last_evaluated_key=decode_cursor(cursor, scope))
    items = list(result)
    return items, encode_cursor(result.last_evaluated_key, scope)


def of_campaign(brand_id: str, campaign_id: str, since: float) -> dict[str, str]:
    """phone -> conversation id of the brand's conversations started by `campaign_id` (created
    at or after `since`: conversation ids are time-ordered, so only those are read)."""
    from chalicelib.domain.ids import new_id

    lowest = new_id("cnv", since)[:len("cnv_") + 10]  # the time part only
    found: dict[str, str] = {}
    for item in ConversationModel.query(brand_id, ConversationModel.conversation_id >= lowest,
                                        filter_condition=ConversationModel.campaign_id
                                        == campaign_id):
        found.setdefault(item.phone, item.conversation_id)
    return found


# --- holding campaign messages -------------------------------------------------

def _open_marker(brand_id: str, phone: str) -> str:
    return f"open#{brand_id}#{phone}"  # written by store/markers.set_open_conversation


def open_among(brand_id: str, phones: Iterable[str]) -> set[str]:
    """The consumers among `phones` with an open conversation with the brand: one batch read of
    the open-conversation markers, then of the few conversations they point at (a marker left
    behind by a conversation closed meanwhile does not count)."""
    keys = [_open_marker(brand_id, phone) for phone in set(phones)]
    if not keys:
        return set()
    pointed = {m.value: m.key.rsplit("#", 1)[1]
               for m in InboundMarkerModel.batch_get(keys, consistent_read=True) if m.value}
    if not pointed:
        return set()
    return {pointed[c.conversation_id]
            for c in ConversationModel.batch_get([(brand_id, cid) for cid in pointed],
                                                 consistent_read=True)
            if c.status == "open"}


def has_open(brand_id: str, phone: str) -> bool:
    """True while the consumer has an open conversation with the brand."""
    return bool(open_among(brand_id, [phone]))
