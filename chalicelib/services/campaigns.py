"""Campaign authoring and life cycle: create, change a draft, recipients, launch, cancel, read."""

from __future__ import annotations

import time
from typing import Any

from chalicelib.domain import phones
from chalicelib.domain.errors import (
    Conflict,
    ValidationFailed,
    field_error,
)
from chalicelib.domain.ids import new_id
from chalicelib.domain.inputs import CampaignIn, LaunchIn, merge_patch, validate
from chalicelib.logs import logger
from chalicelib.services import analytics, queues, webhooks_out
from chalicelib.services import recipients as recipient_lists
from chalicelib.services import templates as wa_templates
from chalicelib.services.auth import Principal
from chalicelib.services.views import campaign_view, message_view, upload_state
from chalicelib.store import brands, campaigns, messages, metrics
from chalicelib.store.models import CampaignModel, ConsentAttribute

CONSENT_TEXT = (
    "I confirm that {brand} collected opt-in consent from every recipient of this campaign to "
    "receive these messages, and that the campaign complies with the TCPA, GDPR and every other "
    "law that applies."
)
SCHEDULED_LAUNCH_MIN_LEAD_SECONDS = 60
# What each recipient receives, as rendered and checked line by line when the list was stored.
# The numbers are not in it: the send reads them from the campaign.
CONTENT_FIELDS = frozenset({"channel", "text", "template_id", "allow_multi_segment"})


def create(principal: Principal, payload: CampaignIn) -> dict[str, Any]:
    now = time.time()
    fields = _checked_fields(principal.brand_id, payload)
    if "window" not in payload.schedule.model_fields_set:
        # No window in the body: the brand's default sending window (PUT /brand `window`).
        brand = brands.get_brand(principal.brand_id)
        fields["window_start"], fields["window_end"] = brand.window_start, brand.window_end
    _check_launch_at(fields["launch_at"], now)
    campaign = CampaignModel(
        principal.brand_id,
        new_id("cmp", now),
        **fields,
        status="DRAFT",
        created_by=principal.label or principal.key_id,
        created_at=now,
        updated_at=now,
        status_callback_secret=webhooks_out.new_secret(),
    )
    campaigns.create(campaign)
    # The status callbacks' signing secret: shown here only.
    return {**campaign_view(campaign, {}),
            "status_callback_secret": campaign.status_callback_secret}


def update_draft(principal: Principal, campaign_id: str, patch: dict[str, Any]) -> dict[str, Any]:
    """PATCH a DRAFT campaign: `patch` (a JSON merge patch of CampaignIn's fields) is merged over
    the stored campaign and the result is checked as a whole, exactly as create checks a body.

    A change of what recipients receive (CONTENT_FIELDS) makes the stored list stale: its lines
    were rendered and checked against the old content. The list is then forgotten (the answer
    says `recipients_cleared`) and must be given again; the skill is written onto the messages
    at launch, so a new skill needs no new list.
    """
    campaign = campaigns.get(principal.brand_id, campaign_id)
    if campaign.status != "DRAFT":
        raise Conflict(f"only a DRAFT campaign can be changed; this one is {campaign.status}")
    if not patch:
        raise ValidationFailed("the body changes nothing: give one or more of "
                               f"{', '.join(CampaignIn.model_fields)}")
    document = merge_patch(_as_input(campaign), patch)
    if "fallback_from_number" not in patch and document.get("channel") != "prioritized":
        document.pop("fallback_from_number", None)  # it only ever applies to prioritized
    payload = validate(CampaignIn, document)
    fields = _checked_fields(principal.brand_id, payload)
    changed = {name: value for name, value in fields.items()
               if _differs(getattr(campaign, name), value)}
    now = time.time()
    if "launch_at" in changed:
        _check_launch_at(changed["launch_at"], now)
    clear = bool(changed.keys() & CONTENT_FIELDS) and recipient_lists.has_list(campaign)
    campaigns.edit_draft(campaign, changed, now, forget_recipients=clear,
                         conflict="the campaign was launched or cancelled meanwhile; only a "
                         "DRAFT campaign can be changed")
    if clear:
        recipient_lists.delete_lines(campaign)
    return {**campaign_view(campaign, status_counts(campaign)), "recipients_cleared": clear}


def _as_input(campaign: CampaignModel) -> dict[str, Any]:
    """The stored campaign as a CampaignIn body (what a patch is merged over)."""
    view = campaign_view(campaign)
    document = {name: view[name] for name in CampaignIn.model_fields
                if view.get(name) is not None}
    schedule = document["schedule"]
    document["schedule"] = {name: value for name, value in schedule.items() if value is not None}
    return document


def _differs(stored: Any, new: Any) -> bool:
    if isinstance(stored, int | float) and isinstance(new, int | float):
        return abs(float(stored) - float(new)) > 1e-3  # launch_at went through ISO-8601 text
    return bool(stored != new)


def _checked_fields(brand_id: str, payload: CampaignIn) -> dict[str, Any]:
    """The campaign's stored fields from a valid body, once the brand's numbers, skill and
    template are checked: what create stores and what a patch compares."""
    number = brands.get_sender_number(phone_or_raw(payload.from_number))
    channels = {"sms": {"sms"}, "whatsapp": {"whatsapp"}, "prioritized": {"whatsapp"}}
    if number is None or number.brand_id != brand_id:
        raise field_error("from_number", f"{payload.from_number} is not a number of this brand")
    if number.channel not in channels[payload.channel]:
        raise field_error("from_number", f"{number.number} is a {number.channel} number; a "
                          f"{payload.channel} campaign needs a "
                          f"{'/'.join(sorted(channels[payload.channel]))} number")
    skill = brands.get_skill(brand_id, payload.skill)
    if skill is None or skill.retired:
        raise field_error("skill", f"'{payload.skill}' is not an active skill of this brand")
    template_id, fallback_number, text = _channel_content(brand_id, payload)
    schedule = payload.schedule
    return {
        "name": payload.name,
        "channel": payload.channel,
        "from_number": number.number,
        "skill": skill.skill_id,
        "text": text,
        "template_id": template_id,
        "fallback_from_number": fallback_number,
        "allow_multi_segment": payload.allow_multi_segment,
        "send_rate": schedule.send_rate,
        "window_start": schedule.window.start,
        "window_end": schedule.window.end,
        "launch_at": schedule.launch_at.timestamp() if schedule.launch_at else None,
        "hold_open_conversations": schedule.hold_open_conversations,
        "status_callback_url": (webhooks_out.check_url(payload.status_callback_url,
                                                       "status_callback_url")
                                if payload.status_callback_url else None),
    }


def _check_launch_at(launch_at: float | None, now: float) -> None:
    # Only a launch time being set must lie ahead: a stored one that has passed since means
    # "when launched", and must not block a change of name.
    if launch_at is not None and launch_at < now:
        raise field_error("schedule.launch_at", "is in the past")


def _channel_content(brand_id: str, payload: CampaignIn) -> tuple[str | None, str | None,
                                                                    str | None]:
    """(template_id, fallback_from_number, text) as stored for the campaign's channel.

    WhatsApp and Prioritized send an APPROVED template of the brand (their `text`, if any, is
    not used); Prioritized falls back to SMS from one of the brand's SMS numbers.
    """
    if payload.channel == "sms":
        return None, None, payload.text
    template = wa_templates.approved(brand_id, str(payload.template_id))
    fallback = None
    if payload.channel == "prioritized":
        raw = str(payload.fallback_from_number)
        number = brands.get_sender_number(phone_or_raw(raw))
        if number is None or number.brand_id != brand_id:
            raise field_error("fallback_from_number", f"{raw} is not a number of this brand")
        if number.channel != "sms":
            raise field_error("fallback_from_number", f"{number.number} is a {number.channel} "
                              "number; the SMS fallback needs an SMS number")
        fallback = number.number
    return template.template_id, fallback, None


def phone_or_raw(raw: str) -> str:
    parsed = phones.normalize(raw)
    return parsed.e164 if isinstance(parsed, phones.Phone) else raw


def get(principal: Principal, campaign_id: str) -> dict[str, Any]:
    campaign = campaigns.get(principal.brand_id, campaign_id)
    return campaign_view(campaign, status_counts(campaign))


def status_counts(campaign: CampaignModel) -> dict[str, int]:
    counts = metrics.read_counters(*metrics.campaign_key(campaign.campaign_id))
    return {k: v for k, v in counts.items() if v}


def list_page(principal: Principal, limit: int, cursor: str | None) -> dict[str, Any]:
    items, next_cursor = campaigns.page(principal.brand_id, limit, cursor)
    views = []
    for c in items:
        counts = status_counts(c)
        views.append({**campaign_view(c, counts), "metrics": analytics.landing_metrics(c, counts)})
    return {"items": views, "next_cursor": next_cursor}


def messages_page(principal: Principal, campaign_id: str, limit: int, cursor: str | None,
                  status: str | None) -> dict[str, Any]:
    campaign = campaigns.get(principal.brand_id, campaign_id)  # 404 for another brand's
    items, next_cursor = messages.page(campaign_id, limit, cursor, status,
                                       int(campaign.list_id or 0))
    return {"items": [message_view(m) for m in items], "next_cursor": next_cursor}


def set_typed_recipients(principal: Principal, campaign_id: str, body: str) -> dict[str, Any]:
    """Replace the campaign's recipients with a typed list (at most 100 lines)."""
    return recipient_lists.set_typed(principal, campaign_id, body)


def launch(principal: Principal, campaign_id: str, payload: LaunchIn) -> dict[str, Any]:
    campaign = campaigns.get(principal.brand_id, campaign_id)
    if not payload.consent:
        raise field_error("consent", "launching needs the consent acknowledgement: the brand "
                          "holds opt-in consent from every recipient (TCPA / GDPR)")
    if campaign.status != "DRAFT":
        raise Conflict(f"only a DRAFT campaign can be launched; this one is {campaign.status}")
    writer = campaign.list_writer
    if writer is not None and float(writer.expires_at) > time.time():
        raise Conflict("a recipient list is being stored; launch once it is stored and the "
                       "campaign shows its recipients", code="LIST_BEING_STORED")
    upload = campaign.upload
    upload_status, upload_message = (upload_state(upload, time.time()) if upload
                                     else ("DONE", None))
    # The request is valid; the campaign's state is not ready for it: 409, as for a campaign
    # that is no longer a DRAFT.
    if upload_status != "DONE":
        detail = f": {upload_message}" if upload_message else ""
        raise Conflict(
            f"the last CSV upload is {upload_status}{detail}; wait for it to finish or upload "
            "the list again", code="UPLOAD_NOT_DONE")
    if not campaign.recipients_total:
        raise Conflict("the campaign has no recipients; add them before launching",
                       code="NO_RECIPIENTS")
    if campaign.recipient_errors:
        raise Conflict(
            f"the recipient list has {campaign.recipient_errors} line(s) with errors; correct "
            "the list and upload it again before launching", code="RECIPIENT_ERRORS")
    if campaign.channel in ("whatsapp", "prioritized"):
        wa_templates.approved(campaign.brand_id, str(campaign.template_id))
    _check_senders(campaign)
    brand = brands.get_brand(principal.brand_id)
    now = time.time()
    consent = ConsentAttribute(by_key_id=principal.key_id, by_label=principal.label, at=now,
                               text=CONSENT_TEXT.format(brand=brand.name))
    future = campaign.launch_at is not None and campaign.launch_at > now
    campaigns.launch(campaign, consent, now, scheduled=future,
                     conflict="the campaign was launched, changed or given a new recipient list "
                     "meanwhile; look at it again before launching")
    if not future:
        try:
            queues.send_job({"type": "launch", "brand_id": campaign.brand_id,
                             "campaign_id": campaign.campaign_id})
        except Exception:  # noqa: BLE001 - the launch stands: the release schedule asks again
            logger.warning("launch job not queued; the release schedule will ask for it again",
                           extra={"campaign_id": campaign.campaign_id})
    return campaign_view(campaign, status_counts(campaign))


def _check_senders(campaign: CampaignModel) -> None:
    """The numbers a campaign sends from are still the brand's, as at its creation: a number
    removed since (e.g. by a removal that raced the draft's creation) may belong to another
    brand now."""
    for name in ("from_number", "fallback_from_number"):
        value = getattr(campaign, name)
        if not value:
            continue
        number = brands.get_sender_number(value)
        if number is None or number.brand_id != campaign.brand_id:
            message = (f"{value} is no longer a sender number of this brand; give the campaign "
                       "one of the brand's numbers (PATCH) before launching")
            raise Conflict(f"{name}: {message}", code="NUMBER_NOT_OWNED",
                           details=[{"field": name, "message": message}])


def cancel(principal: Principal, campaign_id: str) -> dict[str, Any]:
    campaign = campaigns.get(principal.brand_id, campaign_id)
    now = time.time()
    campaigns.cancel(campaign, now, f"a {campaign.status} campaign cannot be cancelled")
    queues.send_job({"type": "cancel", "brand_id": campaign.brand_id,
                     "campaign_id": campaign.campaign_id})
    return campaign_view(campaign, status_counts(campaign))
