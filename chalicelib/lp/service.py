"""The compatible API's calls, each done by our own services: create (campaign create,
recipients, launch), status (the campaign's messages), report and analytics (our counters)."""

from __future__ import annotations

import csv
import io
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain import analytics as analytics_rules
from chalicelib.domain import phones
from chalicelib.domain import recipients as lists
from chalicelib.domain import sms_templates as sms_rules
from chalicelib.domain import templates as wa_rules
from chalicelib.domain.errors import DomainError, NotFound
from chalicelib.domain.inputs import CampaignIn, LaunchIn, validate
from chalicelib.lp import mapping
from chalicelib.lp.errors import LpError
from chalicelib.lp.schemas import CreateRequest
from chalicelib.services import campaigns, sms_templates
from chalicelib.services import templates as wa_templates
from chalicelib.services.auth import Principal
from chalicelib.store import brands, conversations, metrics
from chalicelib.store import campaigns as campaign_store

LP_SEND_RATE = 9.0  # LivePerson's default: 9 messages/second per channel
VARIABLE_MAX = 1550
OUR_FIELDS = {"from_number": "outboundNumber", "skill": "skill", "name": "campaignName",
              "template_id": "templateId", "text": "templateId"}
PAGE = 200
ANALYTICS_MAX_DAYS = 60
DAY_MS = 86_400_000


# --- create ---------------------------------------------------------------------------------

class Content:
    """What the templateId names: the channel, the LivePerson channel key, the variables."""

    def __init__(self, channel: str, key: str, template_id: str | None, text: str,
                 body: str, variable_count: int) -> None:
        self.channel, self.key, self.template_id = channel, key, template_id
        self.text, self.body, self.variable_count = text, body, variable_count


def _content(brand_id: str, template_id: str) -> Content:
    sms = sms_templates.usable(brand_id, template_id)
    if sms is not None:
        return Content("sms", "sms", None, sms.text, "", int(sms.variable_count or 0))
    if template_id == sms_rules.DEFAULT_ID:
        raise LpError(400, "templateId 1234567890 is the brand's default SMS template, and the "
                      "brand has none yet; an admin creates one (Templates, SMS)",
                      {"fields": ["templateId"]})
    try:
        wa = wa_templates.approved(brand_id, template_id, field="templateId")
    except DomainError as error:
        raise LpError(400, error.message, {"fields": ["templateId"]}) from None
    return Content("whatsapp", "wa", wa.template_id, "", wa.body, int(wa.variable_count or 0))


def _skill_id(brand_id: str, skill: str) -> str:
    for item in brands.brand_skills(brand_id):
        if not item.retired and (item.skill_id == skill or item.name.lower() == skill.lower()):
            return item.skill_id
    raise LpError(400, f"skill '{skill}' is not an active skill of this account",
                  {"fields": ["skill"]})


def _phone_of(consumer: dict[str, Any], key: str) -> str | None:
    content = consumer.get("consumerContent")
    if isinstance(content, dict) and isinstance(content.get(key), str) and content[key].strip():
        return str(content[key]).strip()
    code, national = consumer.get("consumerCountryCode"), consumer.get("consumerPhoneNumber")
    if isinstance(code, str | int) and isinstance(national, str | int) and str(national).strip():
        return f"+{str(code).strip().lstrip('+')}{str(national).strip()}"
    return None


def _variables(consumer: dict[str, Any], wanted: int) -> tuple[list[str] | None, str | None]:
    """(values in order, None) or (None, LivePerson's error for the consumer)."""
    given = consumer.get("variables") or {}
    if not isinstance(given, dict):
        return None, "VARIABLE_NOT_STRING=variables"
    if len(given) > wanted:
        return None, "TOO_MANY_VARIABLES"
    names = [str(n) for n in range(1, wanted + 1)]
    for name in names:
        if name not in given:
            return None, ("INSUFFICIENT_VARIABLES" if len(given) < wanted
                          else f"MISSING_VARIABLE={name}")
        if not isinstance(given[name], str):
            return None, f"VARIABLE_NOT_STRING={name}"
        if len(given[name]) > VARIABLE_MAX:
            return None, f"VARIABLE_TOO_LONG={name}"
    return [given[name] for name in names], None


def _header_error(consumer: dict[str, Any]) -> str | None:
    header = consumer.get("headerVariables")
    if header in (None, {}):
        return None
    if not isinstance(header, dict) or not all(isinstance(v, str) for v in header.values()):
        return "HEADER_VARIABLE_NOT_STRING"
    return "TOO_MANY_HEADER_VARIABLES"  # our templates have no media header


def _failed(consumer: Any, phone: str | None, error: str) -> dict[str, Any]:
    echo = dict(consumer) if isinstance(consumer, dict) else {"consumer": consumer}
    country = None
    if phone:
        parsed = phones.normalize(phone)
        country = parsed.country if isinstance(parsed, phones.Phone) else None
    return {**echo, "phone": phone, "countryCode": country, "errorMessage": error}


def _lp_code(code: str) -> str:
    return "INVALID_NUMBER" if code == "MISSING_COUNTRY_CODE" else code


def create(principal: Principal, request: CreateRequest) -> dict[str, Any]:
    brand_id = principal.brand_id
    brand = brands.get_brand(brand_id)
    content = _content(brand_id, request.template_id)
    skill_id = _skill_id(brand_id, request.skill)
    spec = lists.ListContent(channel=content.channel, opt_out_text=brand.opt_out_text,
                             default_zone=brand.time_zone, text=content.text, body=content.body,
                             allow_multi_segment=True)
    sms_body = wa_rules.parse_body(content.text) if content.channel == "sms" else None
    failed: list[dict[str, Any]] = []
    rows: list[tuple[int, str, list[str]]] = []
    inputs: dict[int, Any] = {}
    own_texts: dict[int, str] = {}
    for index, consumer in enumerate(request.consumers, start=1):
        if not isinstance(consumer, dict):
            failed.append(_failed(consumer, None,
                                  f"MISSING_CONSUMER_INFORMATION=={content.key.upper()}"))
            continue
        phone = _phone_of(consumer, content.key)
        if phone is None:
            failed.append(_failed(consumer, None,
                                  f"MISSING_CONSUMER_INFORMATION=={content.key.upper()}"))
            continue
        values, error = _variables(consumer, content.variable_count)
        error = error or _header_error(consumer)
        if error or values is None:
            failed.append(_failed(consumer, phone, error or "INSUFFICIENT_VARIABLES"))
            continue
        if sms_body is not None:
            own_texts[index] = sms_body.render(values)
            fields = [phone, own_texts[index]]
        else:
            fields = [phone, *values]
        rows.append((index, phone, fields))
        inputs[index] = consumer
    accepted: list[tuple[lists.LineResult, Any]] = []
    for result in lists.parse_rows(rows, spec):
        consumer = inputs[result.line]
        if result.ok:
            accepted.append((result, consumer))
        else:
            failed.append(_failed(consumer, result.input,
                                  _lp_code(result.errors[0]["code"])))
    if not accepted:
        raise LpError(400, "no consumer was accepted; nothing was sent",
                      {"failedConsumers": failed})
    campaign = _our_campaign(principal, request, content, skill_id)
    cid = campaign["id"]
    body = io.StringIO()
    writer = csv.writer(body, lineterminator="\n")
    for result, _ in accepted:
        writer.writerow([result.phone, *(result.variables or [])] if sms_body is None
                        else [result.phone, own_texts[result.line]])
    stored = campaigns.set_typed_recipients(principal, cid, body.getvalue())
    if stored["rejected"]:
        raise LpError(409, "the recipients changed meanwhile; nothing was sent",
                      {"proactiveCampaignId": cid})
    campaigns.launch(principal, cid, LaunchIn(consent=True))
    return {
        "proactiveCampaignId": cid,
        "leCampaignId": cid,
        "leEngagementId": skill_id,
        "requestTraceId": str(uuid.uuid4()),
        "acceptedConsumers": [
            {"id": mapping.consumer_id(cid, str(result.phone)), "phoneNumber": result.phone,
             "consumerContent": {content.key: result.phone}}
            for result, _ in accepted],
        "failedConsumers": failed,
    }


def _our_campaign(principal: Principal, request: CreateRequest, content: Content,
                  skill_id: str) -> dict[str, Any]:
    schedule: dict[str, Any] = {"send_rate": LP_SEND_RATE}
    if request.window is not None:
        schedule["window"] = {"start": request.window.start, "end": request.window.end}
    elif content.channel != "sms":
        schedule["window"] = {"start": "00:00", "end": "24:00"}  # LivePerson: other channels
    document: dict[str, Any] = {
        "name": request.campaign_name, "channel": content.channel,
        "from_number": request.outbound_number, "skill": skill_id,
        "allow_multi_segment": True, "schedule": schedule}
    if content.channel == "sms":
        document["text"] = content.text
    else:
        document["template_id"] = content.template_id
    try:
        return campaigns.create(principal, validate(CampaignIn, document))
    except DomainError as error:
        fields = sorted({OUR_FIELDS.get(d.get("field", "").split(".")[0], d.get("field", ""))
                         for d in error.details})
        message = error.message
        for ours, theirs in OUR_FIELDS.items():
            message = message.replace(f"{ours}:", f"{theirs}:")
        raise LpError(400, message, {"fields": fields} if fields else None) from None


# --- status and report ----------------------------------------------------------------------

def _campaign(principal: Principal, campaign_id: str) -> Any:
    try:
        return campaign_store.get(principal.brand_id, campaign_id)
    except NotFound:
        raise LpError(404, f"campaign {campaign_id} was not found in this account") from None


def _messages(principal: Principal, campaign_id: str) -> Iterator[dict[str, Any]]:
    cursor: str | None = None
    while True:
        page = campaigns.messages_page(principal, campaign_id, PAGE, cursor, None)
        yield from page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return


def conversations_of(principal: Principal, campaign_id: str) -> dict[str, Any]:
    campaign = _campaign(principal, campaign_id)
    shown = campaigns.get(principal, campaign_id)["status"]
    items = list(_messages(principal, campaign_id))
    replied: dict[str, str] = {}
    if any(m["status"] == "RESPONDED" for m in items):
        replied = conversations.of_campaign(principal.brand_id, campaign_id,
                                            float(campaign.launched_at or campaign.created_at))
    return {
        "campaignStatus": mapping.campaign_status(shown),
        "conversations": [{
            "id": mapping.consumer_id(campaign_id, m["phone"]),
            "status": mapping.recipient_status(m["status"]),
            "conversationId": replied.get(m["phone"]),
            "errorMessage": (m["error_code"] or m["reason"] or m["status"])
            if mapping.recipient_status(m["status"]) in ("FAILED", "SKIPPED") else None,
        } for m in items],
    }


def report(principal: Principal, campaign_id: str, offset: int, limit: int) -> dict[str, Any]:
    _campaign(principal, campaign_id)
    items = list(_messages(principal, campaign_id))
    chosen = items[offset:offset + limit]
    following = offset + limit
    return {
        "requestMetadata": {"accountId": principal.brand_id,
                            "proactiveCampaignId": campaign_id,
                            "requestTraceId": str(uuid.uuid4())},
        "page": {"count": len(chosen), "previousOffset": max(offset - limit, 0) if offset else -1,
                 "currentOffset": offset,
                 "nextOffset": following if following < len(items) else -1},
        "consumersReport": [{
            "id": mapping.consumer_id(campaign_id, m["phone"]),
            "consumerId": m["phone"],
            "status": mapping.recipient_status(m["status"]),
            "errorSource": mapping.error_source(m["status"]),
            "errorCode": m["error_code"],
            "errorMessage": m["reason"],
        } for m in chosen],
    }


# --- analytics ------------------------------------------------------------------------------

def _figures(counters: dict[str, int]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for name, value in counters.items():
        if analytics_rules.parse_counter_name(name) is None:
            continue
        for figure, count in analytics_rules.unpack(value).items():
            totals[figure] += count
    return totals


def _item(channel: str, skill: str, day: str | None, figures: dict[str, int],
          attempted: int | None = None, skipped: int = 0) -> dict[str, Any]:
    sent = figures.get("sent", 0)
    attempted = sent + skipped if attempted is None else attempted
    return {"channel": "wa" if channel == "whatsapp" else channel, "skill": skill,
            "transactionday": day, "attempted": attempted, "eligible": attempted - skipped,
            "skipped": skipped, "sent": sent, "failed": figures.get("failed", 0),
            "delivered": figures.get("delivered_gateway", 0),
            "read": None, "conversationscreated": figures.get("responded", 0),
            "conversationsclosed": None, "csat": None}


def campaign_analytics(principal: Principal, campaign_id: str) -> dict[str, Any]:
    campaign = _campaign(principal, campaign_id)
    counts = campaigns.status_counts(campaign)
    totals = analytics_rules.totals_from_status_counts(counts)
    skipped = int(counts.get("SKIPPED", 0))
    figures = {"sent": totals.get("sent", 0), "failed": totals.get("failed", 0),
               "delivered_gateway": totals.get("delivered_gateway", totals.get("sent", 0)
                                               - totals.get("failed", 0)),
               "responded": totals.get("responded", 0)}
    return {"proactiveCampaignId": campaign_id, "data": [_item(
        campaign.channel, campaign.skill, None, figures,
        attempted=int(campaign.recipients_total or 0), skipped=skipped)]}


def _epoch_ms(query: dict[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise LpError(400, f"{name} must be epoch milliseconds") from None


def account_analytics(principal: Principal, query: dict[str, str],
                      filters: dict[str, Any] | None) -> dict[str, Any]:
    now_ms = int(time.time() * 1000)
    end = _epoch_ms(query, "attemptedEndTime", now_ms)
    start = _epoch_ms(query, "attemptedStartTime", end - 7 * DAY_MS)
    if start > end:
        raise LpError(400, "attemptedStartTime must not be after attemptedEndTime")
    if end - start > ANALYTICS_MAX_DAYS * DAY_MS:
        raise LpError(400, f"the window is at most {ANALYTICS_MAX_DAYS} days per call")
    channels, skills = _filters(filters or {})
    first = datetime.fromtimestamp(start / 1000, UTC).strftime("%Y-%m-%d")
    last = datetime.fromtimestamp(end / 1000, UTC).strftime("%Y-%m-%d")
    rows: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    names = {s.skill_id: s.name for s in brands.brand_skills(principal.brand_id)} if skills else {}
    for campaign in campaign_store.iter_brand(principal.brand_id):
        began = campaign.launched_at
        channel = "wa" if campaign.channel == "whatsapp" else str(campaign.channel)
        if began is None or float(began) * 1000 > end:
            continue
        if (channels and channel not in channels) or (skills and campaign.skill not in skills
                                                      and names.get(campaign.skill) not in skills):
            continue
        for day, counters in metrics.campaign_days(campaign.campaign_id, first, last):
            for figure, count in _figures(counters).items():
                rows[(campaign.channel, str(campaign.skill), day)][figure] += count
    data = [_item(channel, skill, day, dict(figures))
            for (channel, skill, day), figures in sorted(rows.items(), key=lambda r: r[0][2])]
    return {"accountId": principal.brand_id, "attemptedStartTime": start,
            "attemptedEndTime": end, "data": data}


def _filters(filters: dict[str, Any]) -> tuple[set[str], set[str]]:
    raw = filters.get("filters", {}) if isinstance(filters, dict) else {}
    if not isinstance(raw, dict):
        raise LpError(400, "filters must be an object")
    chosen: list[set[str]] = []
    for name in ("channels", "skills"):
        values = raw.get(name) or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise LpError(400, f"filters.{name} must be an array of strings")
        chosen.append({"wa" if v.lower() in ("wa", "whatsapp") else v.lower() if
                       name == "channels" else v for v in values})
    return chosen[0], chosen[1]
