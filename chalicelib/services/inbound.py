"""Inbound webhook: a consumer's message to one of the brand's numbers.

Checked on the exact public URL (signature), deduplicated by MessageSid (a conditional put), then:
a single keyword opts out / in / asks for help, brand-wide, with a confirmation reply from the
number that received it; any other text goes to a conversation (services/conversations.py).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from chalicelib.config import get_settings
from chalicelib.domain import keywords, phones
from chalicelib.domain.errors import field_error
from chalicelib.logging import logger, mask_phone
from chalicelib.messaging import webhooks
from chalicelib.messaging.gateway import GatewayError
from chalicelib.services import analytics, conversations, gateways
from chalicelib.store import brands, markers, messages, optouts
from chalicelib.store.models import BrandModel, SenderNumberModel

DAY_SECONDS = 86400
OPT_OUT_REPLY = ("{brand}: you are unsubscribed and will get no more messages from us. "
                 "Reply START to subscribe again.")
OPT_IN_REPLY = "{brand}: you are subscribed again. Reply STOP to opt out, HELP for help."


def on_opted_out(brand_id: str, phone: str, campaign_id: str | None, skill: str | None,
                 at: float) -> None:
    """Called once per new opt-out by a consumer's keyword (campaign_id/skill: the campaign they
    answered, within the look-back period, if any). Hook for opt-out analytics."""
    logger.info("consumer opted out", extra={"brand_id": brand_id, "phone": mask_phone(phone),
                                             "campaign_id": campaign_id, "skill": skill})
    analytics.record_opt_out(brand_id, skill, campaign_id, at,
                             idempotency_key=f"optout#{brand_id}#{phone}#{at:.3f}")


def receive(raw_body: bytes | str | None, signature: str | None,
            query: Mapping[str, str] | None = None, now: float | None = None,
            base_url: str = "") -> dict[str, Any]:
    """Handle one inbound webhook; returns what was done (for logs and tests)."""
    settings = get_settings()
    form = webhooks.signed_form(raw_body, signature, base_url or settings.webhook_base_url,
                                webhooks.INBOUND_PATH, gateways.inbound_token, query)
    now = time.time() if now is None else now
    sid = form.get("MessageSid") or form.get("SmsMessageSid") or ""
    for name, value in (("MessageSid", sid), ("From", form.get("From")), ("To", form.get("To"))):
        if not value:
            raise field_error(name, "is required in an inbound message webhook")
    channel, to_number = webhooks.split_address(form["To"])
    _, from_raw = webhooks.split_address(form["From"])
    parsed = phones.normalize(from_raw)
    phone = parsed.e164 if isinstance(parsed, phones.Phone) else from_raw
    sender = brands.get_sender_number(to_number)
    if sender is None:
        logger.warning("inbound message to a number no brand owns; ignored",
                       extra={"to": to_number, "sid": sid})
        return {"outcome": "unknown_number"}
    key = f"inbound#{sid}"
    if not markers.claim_once(key, now):
        logger.info("inbound webhook retried; handled once already", extra={"sid": sid})
        return {"outcome": "duplicate"}
    try:
        outcome = _handle(brands.get_brand(sender.brand_id), phone, channel, sender,
                          message_text(form), sid, now)
    except Exception:
        markers.release(key)  # let the gateway's retry do it
        raise
    markers.finish(key, now)
    return outcome


def message_text(form: Mapping[str, str]) -> str:
    """The consumer's text; pictures and files (MMS, WhatsApp media) are listed by their URL."""
    text = form.get("Body", "")
    try:
        media = int(form.get("NumMedia") or 0)
    except ValueError:
        media = 0
    urls = [form[f"MediaUrl{n}"] for n in range(min(media, 10)) if form.get(f"MediaUrl{n}")]
    if urls:
        text = "\n".join([text, *(f"[media] {url}" for url in urls)]).strip()
    return text


def _handle(brand: BrandModel, phone: str, channel: str, sender: SenderNumberModel, body: str,
            sid: str, now: float) -> dict[str, Any]:
    to_number = str(sender.number)
    keyword = keywords.classify(body)
    if keyword is None:
        conversation = conversations.consumer_reply(brand, phone, channel, to_number, body, sid,
                                                    now)
        return {"outcome": "conversation", "conversation_id": conversation.conversation_id,
                "skill": conversation.skill}
    action, word = keyword
    if action == "opt_out":
        since = now - float(brand.lookback_days or 30) * DAY_SECONDS
        latest = messages.latest_sent_to(brand.brand_id, phone, since)
        _, new = optouts.record(brand.brand_id, phone, source="keyword", keyword=word,
                                number=to_number, now=now,
                                campaign_id=latest.campaign_id if latest else None)
        if new:
            on_opted_out(brand.brand_id, phone, latest.campaign_id if latest else None,
                         latest.skill if latest else None, now)
        conversations.close_open_for(brand.brand_id, phone, "consumer opted out", now)
        reply = OPT_OUT_REPLY.format(brand=brand.name)
    elif action == "opt_in":
        optouts.delete(brand.brand_id, phone)
        reply = OPT_IN_REPLY.format(brand=brand.name)
    else:
        reply = brand.help_text
    if sender.gateway_answers_keywords:
        # The gateway has answered already (Twilio Advanced Opt-Out): a second answer would
        # annoy the consumer, and after STOP the gateway refuses it (21610) anyway.
        return {"outcome": action, "keyword": word, "confirmation": "gateway"}
    _confirm(brand.brand_id, channel, to_number, phone, reply)
    return {"outcome": action, "keyword": word, "confirmation": "sent"}


def _confirm(brand_id: str, channel: str, brand_number: str, phone: str, text: str) -> None:
    """The confirmation goes from the number that received the keyword. A failure is logged: the
    opt-out/in itself is stored whatever the gateway says."""
    try:
        gateways.for_brand(brand_id).send(to=webhooks.address(channel, phone),
                                          from_=webhooks.address(channel, brand_number),
                                          body=text)
    except GatewayError as error:
        logger.warning("keyword confirmation not sent", extra={
            "code": error.code, "kind": error.kind, "phone": mask_phone(phone)})
