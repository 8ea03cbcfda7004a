"""Conversations: a consumer's reply opens or joins one, routed to a skill with the outbound
campaign message as context; agents read, answer and close them (the agent API)."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from chalicelib.domain.errors import Conflict, DomainError, Unprocessable
from chalicelib.domain.ids import new_id
from chalicelib.logs import logger, mask_phone
from chalicelib.messaging import webhooks
from chalicelib.messaging.gateway import GatewayError
from chalicelib.services import events, gateways
from chalicelib.services.auth import Principal
from chalicelib.services.views import iso
from chalicelib.store import campaigns, conversations, markers, messages, optouts
from chalicelib.store.inbound_models import ConversationModel, EntryAttribute
from chalicelib.store.models import BrandModel, MessageModel

DAY_SECONDS = 86400
UNROUTED_SKILL = "unassigned"  # a brand without a default skill
CREATE_ATTEMPTS = 3


class GatewayUnavailable(DomainError):
    status = 503
    code = "GATEWAY_UNAVAILABLE"


# --- a consumer's reply -----------------------------------------------------------------------

def consumer_reply(brand: BrandModel, phone: str, channel: str, brand_number: str, text: str,
                   sid: str, now: float) -> ConversationModel:
    """Mark the latest message of the look-back period RESPONDED (once) and add the reply to the
    consumer's open conversation, or open one routed to that campaign's skill (no campaign: the
    brand's default skill). Returns the conversation."""
    since = now - float(brand.lookback_days or 30) * DAY_SECONDS
    latest = messages.latest_sent_to(brand.brand_id, phone, since)
    if latest is not None:
        messages.mark_responded(latest.campaign_id, phone, now)
    entry = EntryAttribute(at=now, author="consumer", text=text, sid=sid)
    for _attempt in range(CREATE_ATTEMPTS):
        joined = _join_open(brand.brand_id, phone, latest, entry, now)
        if joined is not None:
            events.publish(events.CONSUMER_MESSAGE, event_detail(joined, entry))
            return joined
        created = _open_new(brand, phone, channel, brand_number, latest, entry, now)
        if created is not None:
            events.publish(events.CONVERSATION_CREATED, event_detail(created, entry))
            return created
    raise Conflict("too many simultaneous replies from this consumer; retry")


def _join_open(brand_id: str, phone: str, latest: MessageModel | None, entry: EntryAttribute,
               now: float) -> ConversationModel | None:
    open_id = markers.open_conversation(brand_id, phone)
    if open_id is None:
        return None
    conversation = conversations.find(brand_id, open_id)
    if conversation is not None and conversation.status == "open":
        if entry.sid and any(e.sid == entry.sid for e in conversation.entries or []):
            return conversation  # added by an earlier try of this message
        if not _superseded(conversation, latest):
            if conversations.append(conversation, entry, now):
                return conversation
        else:
            # The consumer answers a newer campaign: that one's skill takes it from here.
            conversations.close(conversation, f"superseded by campaign {latest.campaign_id}"
                                if latest else "superseded", now)
    markers.clear_open_conversation(brand_id, phone, open_id)
    return None


def _superseded(conversation: ConversationModel, latest: MessageModel | None) -> bool:
    return (latest is not None and latest.campaign_id != conversation.campaign_id
            and float(latest.sent_at or 0) > float(conversation.created_at))


def _open_new(brand: BrandModel, phone: str, channel: str, brand_number: str,
              latest: MessageModel | None, entry: EntryAttribute,
              now: float) -> ConversationModel | None:
    entries = []
    campaign_name = None
    if latest is not None:
        skill = latest.skill
        entries.append(EntryAttribute(at=float(latest.sent_at or now), author="outbound",
                                      text=latest.text or "", sid=latest.sid,
                                      campaign_id=latest.campaign_id))
        try:
            campaign_name = campaigns.get(brand.brand_id, latest.campaign_id,
                                          consistent=False).name
        except DomainError:
            campaign_name = None
    else:
        skill = brand.default_skill or UNROUTED_SKILL
    entries.append(entry)
    conversation = ConversationModel(
        brand.brand_id, new_id("cnv", now), brand_skill=conversations.brand_skill(
            brand.brand_id, skill), skill=skill, phone=phone, brand_number=brand_number,
        channel=channel, campaign_id=latest.campaign_id if latest else None,
        campaign_name=campaign_name, status="open", entries=entries,
        last_text=entry.text[:conversations.LAST_TEXT_CHARS], created_at=now, updated_at=now)
    conversations.create(conversation)
    try:
        opened = markers.set_open_conversation(brand.brand_id, phone,
                                               conversation.conversation_id, now)
    except Exception:
        # The message is retried (inbound queue): no orphan conversation stays behind.
        with contextlib.suppress(Exception):
            conversations.discard(conversation)
        raise
    if opened:
        return conversation
    # Another reply opened one at the same moment: ours was never shown; join theirs.
    conversations.discard(conversation)
    return None


def close_open_for(brand_id: str, phone: str, by: str, now: float) -> None:
    """Close the consumer's open conversation, if any (they opted out)."""
    open_id = markers.open_conversation(brand_id, phone)
    if open_id is None:
        return
    conversation = conversations.find(brand_id, open_id)
    if conversation is not None:
        conversations.close(conversation, by, now)
    markers.clear_open_conversation(brand_id, phone, open_id)


# --- views and events -------------------------------------------------------------------------

def entry_view(entry: EntryAttribute) -> dict[str, Any]:
    return {"at": iso(entry.at), "author": entry.author, "text": entry.text, "sid": entry.sid,
            "campaign_id": entry.campaign_id, "by": entry.by}


def summary_view(conversation: ConversationModel) -> dict[str, Any]:
    return {
        "id": conversation.conversation_id,
        "phone": conversation.phone,
        "skill": conversation.skill,
        "campaign_id": conversation.campaign_id,
        "channel": conversation.channel,
        "status": conversation.status,
        "last_text": conversation.last_text,
        "created_at": iso(conversation.created_at),
        "updated_at": iso(conversation.updated_at),
    }


def conversation_view(conversation: ConversationModel) -> dict[str, Any]:
    entries = list(conversation.entries or [])
    outbound = next((e for e in entries if e.author == "outbound"), None)
    return {
        **summary_view(conversation),
        "brand_id": conversation.brand_id,
        "campaign_name": conversation.campaign_name,
        "brand_number": conversation.brand_number,
        "context": entry_view(outbound) if outbound else None,
        "transcript": [entry_view(e) for e in entries],
        "closed_at": iso(conversation.closed_at),
        "closed_by": conversation.closed_by,
    }


def event_detail(conversation: ConversationModel, entry: EntryAttribute) -> dict[str, Any]:
    detail = conversation_view(conversation)
    detail["conversation_id"] = detail.pop("id")
    if entry.sid and not any(e["sid"] == entry.sid for e in detail["transcript"]):
        detail["transcript"].append(entry_view(entry))  # the item read before our append
    detail["message"] = entry_view(entry)
    return detail


# --- the agent API ----------------------------------------------------------------------------

def list_page(principal: Principal, skill: str | None, status: str | None, limit: int,
              cursor: str | None) -> dict[str, Any]:
    items, next_cursor = conversations.page(principal.brand_id, skill, status, limit, cursor)
    return {"items": [summary_view(c) for c in items], "next_cursor": next_cursor}


def get(principal: Principal, conversation_id: str) -> dict[str, Any]:
    return conversation_view(conversations.get(principal.brand_id, conversation_id))


def answer(principal: Principal, conversation_id: str, text: str) -> dict[str, Any]:
    """The agent's answer goes out on the conversation's channel, from the number the consumer
    wrote to (the campaign's)."""
    conversation = conversations.get(principal.brand_id, conversation_id)
    if conversation.status != "open":
        raise Conflict("the conversation is closed; the consumer's next reply opens a new one")
    phone = conversation.phone
    if optouts.opted_out(principal.brand_id, [phone]):
        raise Conflict("the consumer opted out of this brand's messages; nothing was sent",
                       code="OPTED_OUT")
    try:
        sent = gateways.for_brand(principal.brand_id).send(
            to=webhooks.address(conversation.channel, phone),
            from_=webhooks.address(conversation.channel, conversation.brand_number), body=text)
    except GatewayError as error:
        now = time.time()
        logger.warning("agent answer refused by the gateway",
                       extra={"code": error.code, "kind": error.kind, "phone": mask_phone(phone)})
        if error.kind == "opted_out":
            optouts.record(principal.brand_id, phone, source="gateway", now=now,
                           number=conversation.brand_number)
            raise Conflict("the carrier reports the consumer opted out; nothing was sent",
                           code="OPTED_OUT") from None
        if error.kind in ("transient", "ambiguous"):
            raise GatewayUnavailable(f"the gateway did not take the message ({error.code}); "
                                     "try again") from None
        raise Unprocessable(f"the gateway refused the message ({error.code}): {error.message}",
                            code="GATEWAY_REFUSED") from None
    now = time.time()
    entry = EntryAttribute(at=now, author="agent", text=text, sid=sent.sid,
                           by=principal.label or principal.key_id)
    conversations.append(conversation, entry, now, require_open=False)
    return conversation_view(conversations.get(principal.brand_id, conversation_id))


def close(principal: Principal, conversation_id: str) -> dict[str, Any]:
    conversation = conversations.get(principal.brand_id, conversation_id)
    now = time.time()
    conversations.close(conversation, principal.label or principal.key_id, now)
    markers.clear_open_conversation(principal.brand_id, conversation.phone, conversation_id)
    return conversation_view(conversations.get(principal.brand_id, conversation_id))
