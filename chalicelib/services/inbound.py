"""Inbound webhook: a consumer's message to one of the brand's numbers.

Checked on the exact public URL (signature), deduplicated by MessageSid (a conditional put), then:
a single keyword opts out / in / asks for help, brand-wide, with a confirmation reply from the
number that received it; any other text goes to a conversation (services/conversations.py).

Durable before 200 (docs/guarantees.md): the gateway does not retry a webhook we
answer with an error, so a message is applied at once when it can be and otherwise put, as
received and checked, on the inbound queue, whose consumer (`apply_queued`) applies it later.
Only when the queue refuses it too is the answer an error (503). Applying is idempotent: the
MessageSid marker makes a webhook, its retries and its queued copies take effect once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib import aws
from chalicelib.config import get_settings
from chalicelib.domain import keywords, phones
from chalicelib.domain.errors import DomainError, field_error
from chalicelib.logs import logger, mask_phone
from chalicelib.messaging import webhooks
from chalicelib.messaging.gateway import GatewayError
from chalicelib.services import analytics, conversations, gateways, webhooks_out
from chalicelib.store import brands, markers, messages, optouts
from chalicelib.store.models import BrandModel, SenderNumberModel

DAY_SECONDS = 86400
OPT_OUT_REPLY = ("{brand}: you are unsubscribed and will get no more messages from us. "
                 "Reply START to subscribe again.")
OPT_IN_REPLY = "{brand}: you are subscribed again. Reply STOP to opt out, HELP for help."
QUEUED_EVENT_VERSION = 1


class InboundUnavailable(DomainError):
    """Neither applied nor queued: the gateway gets an error (and retries only a failed
    connection), so the message is lost unless it retries."""

    status = 503
    code = "INBOUND_UNAVAILABLE"


class InboundBusy(Exception):
    """Another invocation holds the message's claim; it may still fail, so try again later."""


def on_opted_out(brand_id: str, phone: str, campaign_id: str | None, skill: str | None,
                 at: float) -> None:
    """Called once per new opt-out by a consumer's keyword (campaign_id/skill: the campaign they
    answered, within the look-back period, if any). Hook for opt-out analytics."""
    logger.info("consumer opted out", extra={"brand_id": brand_id, "phone": mask_phone(phone),
                                             "campaign_id": campaign_id, "skill": skill})
    analytics.record_opt_out(brand_id, skill, campaign_id, at,
                             idempotency_key=f"optout#{brand_id}#{phone}#{at:.3f}", phone=phone)


def receive(raw_body: bytes | str | None, signature: str | None,
            query: Mapping[str, str] | None = None, now: float | None = None,
            base_url: str = "") -> dict[str, Any]:
    """Handle one inbound webhook; returns what was done (for logs and tests)."""
    settings = get_settings()
    form = webhooks.signed_form(raw_body, signature, base_url or settings.webhook_base_url,
                                webhooks.INBOUND_PATH, gateways.inbound_token, query)
    now = time.time() if now is None else now
    for name, value in (("MessageSid", _sid(form)), ("From", form.get("From")),
                        ("To", form.get("To"))):
        if not value:
            raise field_error(name, "is required in an inbound message webhook")
    try:
        return apply(form, now)
    except Exception as exc:  # noqa: BLE001 - whatever failed, the queue keeps the message
        # A warning: the consumer logs the trace if it fails there too.
        logger.warning("inbound message not applied at once; queued",
                       extra={"sid": _sid(form), "error": repr(exc)})
        _defer(form, now)
        return {"outcome": "queued"}


def apply(form: Mapping[str, str], received_at: float) -> dict[str, Any]:
    """Apply one checked inbound message once. Raises InboundBusy while another invocation holds
    its claim, and whatever failed otherwise (the claim is released for the next try)."""
    sid = _sid(form)
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
    # The claim's age is wall-clock time (a crashed claim goes stale), not the message's.
    claim = markers.claim(key, time.time())
    if claim == "done":
        logger.info("inbound message handled once already", extra={"sid": sid})
        return {"outcome": "duplicate"}
    if claim == "busy":
        raise InboundBusy(sid)
    try:
        outcome = _handle(brands.get_brand(sender.brand_id), phone, channel, sender,
                          message_text(form), sid, received_at)
    except Exception:
        markers.release(key)  # the next try (queued copy, gateway retry) applies it
        raise
    try:
        markers.finish(key, time.time())
    except Exception:  # noqa: BLE001 - it is applied: answering an error would re-apply it
        logger.exception("inbound message applied but not marked done", extra={"sid": sid})
    return outcome


def apply_queued(records: Sequence[tuple[str, str]]) -> list[str]:
    """The inbound queue's consumer: apply each (message id, body); returns the ids to retry
    (SQS delivers them again after the visibility timeout, then moves them to the DLQ)."""
    failures: list[str] = []
    for message_id, body in records:
        try:
            event = json.loads(body)
            outcome = apply(event["form"], float(event["received_at"]))
        except InboundBusy:
            logger.info("queued inbound message is being handled elsewhere; retried later",
                        extra={"message_id": message_id})
            failures.append(message_id)
        except Exception:  # noqa: BLE001 - one message's failure must not fail the batch
            logger.exception("queued inbound message not applied; retried later",
                             extra={"message_id": message_id})
            failures.append(message_id)
        else:
            logger.info("queued inbound message applied", extra={"message_id": message_id,
                                                                 "outcome": outcome["outcome"]})
    return failures


def _defer(form: Mapping[str, str], received_at: float) -> None:
    body = json.dumps({"v": QUEUED_EVENT_VERSION, "form": dict(form),
                       "received_at": received_at}, separators=(",", ":"))
    try:
        aws.client("sqs").send_message(QueueUrl=get_settings().inbound_queue_url,
                                       MessageBody=body)
    except Exception as exc:
        logger.exception("inbound message neither applied nor queued",
                         extra={"sid": _sid(form)})
        raise InboundUnavailable("the message could not be stored; the gateway should retry "
                                 "it") from exc


def _sid(form: Mapping[str, str]) -> str:
    return form.get("MessageSid") or form.get("SmsMessageSid") or ""


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
    if keyword is not None and keyword[0] == "opt_in" and not _lift_opt_out(brand, phone):
        # START/YES from someone not opted out (or whom an admin opted out, and the brand keeps
        # those) means what it says to a person: "Yes" to "Reply YES for 20% off".
        keyword = None
    if keyword is None:
        conversation = conversations.consumer_reply(brand, phone, channel, to_number, body, sid,
                                                    now)
        return {"outcome": "conversation", "conversation_id": conversation.conversation_id,
                "skill": conversation.skill}
    action, word = keyword
    if action == "opt_out":
        since = now - float(brand.lookback_days or 30) * DAY_SECONDS
        latest = messages.latest_sent_to(brand.brand_id, phone, since)
        item, new = optouts.record(brand.brand_id, phone, source="keyword", keyword=word,
                                   number=to_number, now=now,
                                   campaign_id=latest.campaign_id if latest else None)
        # Also when this very message recorded it on an earlier try that failed afterwards
        # (counted once: the analytics key is the opt-out's time).
        if new or (item.source == "keyword" and float(item.created_at) == now):
            on_opted_out(brand.brand_id, phone, latest.campaign_id if latest else None,
                         latest.skill if latest else None, now)
            webhooks_out.consumer_event("consumer.opted_out", brand.brand_id, phone, now,
                                        "keyword")
        conversations.close_open_for(brand.brand_id, phone, "consumer opted out", now)
        reply = OPT_OUT_REPLY.format(brand=brand.name)
    elif action == "opt_in":
        reply = OPT_IN_REPLY.format(brand=brand.name)
    else:
        reply = brand.help_text
    if sender.gateway_answers_keywords:
        # The gateway has answered already (Twilio Advanced Opt-Out): a second answer would
        # annoy the consumer, and after STOP the gateway refuses it (21610) anyway.
        return {"outcome": action, "keyword": word, "confirmation": "gateway"}
    _confirm(brand.brand_id, channel, to_number, phone, reply)
    return {"outcome": action, "keyword": word, "confirmation": "sent"}


def _lift_opt_out(brand: BrandModel, phone: str) -> bool:
    """Opt the consumer back in on their keyword; False when they are not opted out, or an admin
    opted them out and the brand does not let keywords lift those."""
    existing = optouts.get(brand.brand_id, phone)
    if existing is None:
        return False
    keep_admin = not brand.keyword_lifts_admin_optouts
    if existing.source == "admin" and keep_admin:
        logger.info("opt-in keyword from a consumer an admin opted out; kept (brand setting "
                    "keyword_lifts_admin_optouts)", extra={"phone": mask_phone(phone)})
        return False
    lifted = optouts.delete(brand.brand_id, phone, keep_admin=keep_admin)
    if lifted:
        webhooks_out.consumer_event("consumer.opted_in", brand.brand_id, phone, time.time(),
                                    "keyword")
    return lifted


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
