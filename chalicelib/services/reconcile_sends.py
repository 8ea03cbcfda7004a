"""Ambiguous sends: a message left SENDING whose claim expired (the gateway timed out after the
request may have been taken, or the consumer died between the send and the record).

Never resent blind: the sweep takes the claim over, asks the gateway whether it has the message
(To, From, created since the claim; body when it has one) and records SENT with the gateway's id
when it does; only when the gateway has no record of it is it sent again, unless it has had
settings.max_send_attempts attempts already (then FAILED, RETRIES_EXHAUSTED).

Sent again = back to SCHEDULED, due now, on the due-index: the release step of the next tick
puts it on the queue (SQS first, then QUEUED), so a queue that refuses the send cannot leave a
QUEUED message with no queue entry; the tick after simply tries again. Runs in the one-minute
release schedule, after the release.
"""

from __future__ import annotations

import time
import uuid

from chalicelib.config import get_settings
from chalicelib.logs import logger
from chalicelib.messaging.gateway import GatewayError, SentMessage
from chalicelib.services import gateways
from chalicelib.store import campaigns, messages
from chalicelib.store.models import CampaignModel, MessageModel

MAX_PER_TICK = 500


def sweep(now: float | None = None) -> dict[str, int]:
    now = time.time() if now is None else now
    outcome = {"reconciled_sent": 0, "resent": 0, "unresolved": 0, "retries_exhausted": 0}
    seen: dict[tuple[str, str], CampaignModel | None] = {}
    for index, expired in enumerate(messages.iter_expired_claims(now)):
        if index >= MAX_PER_TICK:
            break
        key = (expired.brand_id, expired.campaign_id)
        if key not in seen:
            try:
                seen[key] = campaigns.get(*key)
            except Exception:  # noqa: BLE001 - a deleted campaign: nothing to reconcile against
                seen[key] = None
        campaign = seen[key]
        if campaign is None:
            continue
        try:
            result = reconcile_one(campaign, expired.phone, now)
        except GatewayError as error:
            logger.warning("reconciliation lookup failed; retried next tick",
                           extra={"campaign_id": campaign.campaign_id, "code": error.code})
            result = "unresolved"
        if result:
            outcome[result] += 1
    if any(outcome.values()):
        logger.info("expired claims reconciled", extra=outcome)
    return outcome


def reconcile_one(campaign: CampaignModel, phone: str, now: float) -> str | None:
    """'reconciled_sent', 'resent', 'retries_exhausted' or None (someone else holds it now)."""
    cid = campaign.campaign_id
    before = messages.get(cid, phone)
    if before is None or before.status != "SENDING" or not before.attempt_id:
        return None
    lease = get_settings().claim_lease_seconds
    attempt = uuid.uuid4().hex
    if messages.take_over(cid, phone, before.attempt_id, attempt, now, lease) is None:
        return None
    since = float(before.claimed_at or before.updated_at or now - lease)
    found = _look_up(campaign, before, since)
    if found is not None:
        sid, channel = found
        messages.record_sent(cid, phone, attempt, sid.sid, channel, now)
        logger.info("ambiguous send found at the gateway", extra={"campaign_id": cid,
                                                                  "sid": sid.sid})
        return "reconciled_sent"
    attempts = int(before.attempts or 0)
    if attempts >= get_settings().max_send_attempts:
        messages.record_exhausted(cid, phone, attempt, attempts, before.error_code,
                                  (before.reason or "no answer")
                                  + "; the gateway has no record of it", now)
        return "retries_exhausted"
    # The gateway has no record of it: sending it now cannot make a second copy.
    messages.release_claim(cid, phone, attempt, before.error_code or "NOT_AT_GATEWAY",
                           "the gateway has no record of the earlier attempt; sending again",
                           now, due_at=now, in_queue=False)
    return "resent"


def _look_up(campaign: CampaignModel, message: MessageModel,
             since: float) -> tuple[SentMessage, str] | None:
    gateway = gateways.for_brand(campaign.brand_id)
    phone = message.phone
    if campaign.channel in ("whatsapp", "prioritized"):
        found = gateway.find_sent(to=f"whatsapp:{phone}", from_=f"whatsapp:{campaign.from_number}",
                                  since=since)
        if found is not None:
            return found, "whatsapp"
    if campaign.channel == "sms":
        found = gateway.find_sent(to=phone, from_=campaign.from_number, since=since,
                                  body=message.text)
        return (found, "sms") if found is not None else None
    if campaign.channel == "prioritized" and campaign.fallback_from_number:
        found = gateway.find_sent(to=phone, from_=campaign.fallback_from_number, since=since,
                                  body=message.fallback_text or message.text)
        if found is not None:
            return found, "sms"
    return None
