"""Events to a brand's own systems: signed webhook deliveries to the brand's
endpoints and to a campaign's status_callback_url, and the same events on the brand's
EventBridge bus (source "proactive", detail-type = the event type).

Events: message.sent, message.delivered, message.failed, message.responded (from the messages
table's stream, never from the send path), campaign.completed (after the counters of a batch),
consumer.opted_out, consumer.opted_in (where opt-outs are recorded or lifted).

The body of every delivery:
    {"id": "evt_...", "type": "message.delivered", "created_at": "<ISO-8601>",
     "brand_id": "...", "data": {...}}
Headers: X-Proactive-Event-Id, X-Proactive-Event-Type and
    X-Proactive-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
A receiver recomputes v1 over the raw body, compares in constant time and refuses a t older
than 5 minutes (REPLAY_WINDOW_SECONDS). Delivery is at least once: dedupe on the event id (the
same message status always has the same id).

Each delivery is an SQS message on the webhooks queue; a failure (no 2xx within 5 s) is retried
with exponential backoff (30 s doubling, at most 15 min apart) for 24 h, then kept in the brand's
dead letters (GET /event-deliveries/failed; POST .../{id}/redeliver queues it again).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from chalicelib import aws
from chalicelib.config import get_settings
from chalicelib.domain.errors import Conflict, NotFound, field_error
from chalicelib.domain.ids import new_id
from chalicelib.logs import logger
from chalicelib.services import events as event_bus
from chalicelib.services import views
from chalicelib.services.auth import Principal
from chalicelib.services.views import iso
from chalicelib.store import campaigns, endpoints, markers, metrics, stream_images
from chalicelib.store.endpoints import DeadLetterModel, EndpointModel
from chalicelib.store.models import CampaignModel

# string / number values of a stream record's image
_s = stream_images.string
_n = stream_images.number

EVENT_TYPES = ("message.sent", "message.delivered", "message.failed", "message.responded",
               "consumer.opted_out", "consumer.opted_in", "campaign.completed")
MESSAGE_EVENTS = {"SENT": "message.sent", "DELIVERED": "message.delivered",
                  "UNDELIVERED": "message.failed", "FAILED": "message.failed",
                  "RESPONDED": "message.responded"}
SIGNATURE_HEADER = "X-Proactive-Signature"
REPLAY_WINDOW_SECONDS = 300
TIMEOUT_SECONDS = 5.0
MAX_DELAY_SECONDS = 900  # SQS's DelaySeconds maximum
MAX_ENDPOINTS = 10
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


# --- signing ----------------------------------------------------------------------------------

def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, now: float | None = None) -> bool:
    """What a receiver does (docs/api.md has it in 10 lines)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > REPLAY_WINDOW_SECONDS:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), f"t={timestamp},v1="
                               + parts.get("v1", ""))


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


# --- endpoints (admin API) --------------------------------------------------------------------

def check_url(url: str, field: str = "url") -> str:
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    local = bool(get_settings().aws_endpoint_url)  # the local stack and tests
    if parts.scheme == "http" and local and host in LOCAL_HOSTS:
        return url.strip()
    if parts.scheme != "https" or not host:
        raise field_error(field, "must be an https:// URL (http only to localhost in the local "
                          "stack)")
    if parts.username or parts.password:
        raise field_error(field, "must not hold credentials; verify the signature instead")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if host in LOCAL_HOSTS or (address is not None and not address.is_global):
        raise field_error(field, "must be a public host")
    return url.strip()


def endpoint_view(item: EndpointModel, secret: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {"id": item.endpoint_id, "url": item.url,
                            "events": list(item.events or []),
                            "description": item.description,
                            "created_at": iso(item.created_at), "created_by": item.created_by}
    if secret:
        view["secret"] = item.secret
    return view


def create_endpoint(principal: Principal, url: str, events: list[str],
                    description: str | None) -> dict[str, Any]:
    url = check_url(url)
    if len(endpoints.of_brand(principal.brand_id)) >= MAX_ENDPOINTS:
        raise Conflict(f"a brand has at most {MAX_ENDPOINTS} endpoints; remove one first",
                       code="TOO_MANY_ENDPOINTS")
    now = time.time()
    item = EndpointModel(principal.brand_id, new_id("whe", now), url=url,
                         events=sorted(set(events)), secret=new_secret(),
                         description=description, created_at=now,
                         created_by=principal.label or principal.key_id)
    endpoints.create(item)
    logger.info("webhook endpoint added", extra={"endpoint_id": item.endpoint_id})
    return endpoint_view(item, secret=True)


def list_endpoints(principal: Principal) -> dict[str, Any]:
    return {"items": [endpoint_view(e) for e in endpoints.of_brand(principal.brand_id)]}


def delete_endpoint(principal: Principal, endpoint_id: str) -> dict[str, Any]:
    item = endpoints.get(principal.brand_id, endpoint_id)
    if item is None or not endpoints.delete(principal.brand_id, endpoint_id):
        raise NotFound(f"endpoint {endpoint_id} does not exist")
    return {**endpoint_view(item), "deleted": True}


# --- events -----------------------------------------------------------------------------------

def event(event_type: str, brand_id: str, data: dict[str, Any], at: float,
          identity: str) -> dict[str, Any]:
    """An event; `identity` names what happened, so a repeat has the same id."""
    digest = hashlib.sha256(f"{brand_id}|{event_type}|{identity}".encode()).hexdigest()[:32]
    return {"id": f"evt_{digest}", "type": event_type, "created_at": iso(at),
            "brand_id": brand_id, "data": data}




def message_event(record: dict[str, Any]) -> dict[str, Any] | None:
    """The message.* event of a stream record of the messages table, if its status changed to
    one integrators hear about."""
    ddb = record.get("dynamodb") or {}
    new, old = ddb.get("NewImage") or {}, ddb.get("OldImage") or {}
    status = _s(new, "status")
    if not status or status == _s(old, "status") or status not in MESSAGE_EVENTS:
        return None
    brand_id, campaign_id, phone = _s(new, "brand_id"), _s(new, "campaign_id"), _s(new, "phone")
    if not (brand_id and campaign_id and phone):
        return None
    data = {"campaign_id": campaign_id, "phone": phone, "status": status,
            "external_id": _s(new, "external_id"), "sid": _s(new, "sid"),
            "channel": _s(new, "sent_channel") or _s(new, "channel"),
            "error_code": _s(new, "error_code"), "reason": _s(new, "reason"),
            "line": int(_n(new, "line") or 0)}
    at = _n(new, "updated_at") or time.time()
    return event(MESSAGE_EVENTS[status], brand_id, data, at, f"{campaign_id}|{phone}|{status}")


def publish_message_events(records: Iterable[dict[str, Any]]) -> int:
    """The messages table's stream handler: every message.* event, to endpoints, status
    callbacks and the bus. Raises when a delivery could not be queued (the stream retries the
    batch: at least once)."""
    found = [e for e in (message_event(r) for r in records) if e is not None]
    publish(found)
    return len(found)


def publish(found: list[dict[str, Any]]) -> None:
    if not found:
        return
    brands_endpoints: dict[str, list[EndpointModel]] = {}
    callbacks: dict[tuple[str, str], CampaignModel | None] = {}
    deliveries: list[dict[str, Any]] = []
    now = time.time()
    for item in found:
        brand_id = item["brand_id"]
        if brand_id not in brands_endpoints:
            brands_endpoints[brand_id] = endpoints.of_brand(brand_id)
        for endpoint in brands_endpoints[brand_id]:
            if item["type"] in (endpoint.events or []):
                deliveries.append(_delivery(brand_id, {"endpoint_id": endpoint.endpoint_id},
                                            item, now))
        campaign_id = item["data"].get("campaign_id")
        if item["type"].startswith("message.") and campaign_id:
            key = (brand_id, campaign_id)
            if key not in callbacks:
                callbacks[key] = _campaign(brand_id, campaign_id)
            campaign = callbacks[key]
            if campaign is not None and campaign.status_callback_url:
                deliveries.append(_delivery(brand_id, {"campaign_id": campaign_id}, item, now))
    _queue(deliveries)
    _to_bus(found)


def _to_bus(found: list[dict[str, Any]]) -> None:
    """The same events on the brand's EventBridge bus (as conversation events, services/
    events.py); a refused entry is logged, as there."""
    bus = get_settings().event_bus_name
    if not bus:
        return
    client = aws.client("events")
    for start in range(0, len(found), 10):
        entries = [{"Source": event_bus.SOURCE, "DetailType": item["type"], "EventBusName": bus,
                    "Detail": json.dumps(item, separators=(",", ":"))}
                   for item in found[start:start + 10]]
        answer = client.put_events(Entries=entries)
        if answer.get("FailedEntryCount"):
            logger.error("events refused by EventBridge", extra={"entries": answer.get(
                "Entries")})


def _campaign(brand_id: str, campaign_id: str) -> CampaignModel | None:
    try:
        return campaigns.get(brand_id, campaign_id, consistent=False)
    except NotFound:
        return None


def _delivery(brand_id: str, target: dict[str, str], item: dict[str, Any],
              now: float) -> dict[str, Any]:
    return {"brand_id": brand_id, "target": target, "event": item, "first_at": now,
            "attempt": 0}


def _queue(deliveries: list[dict[str, Any]], delay: int = 0) -> None:
    if not deliveries:
        return
    url = get_settings().webhook_queue_url
    sqs = aws.client("sqs")
    for start in range(0, len(deliveries), 10):
        chunk = deliveries[start:start + 10]
        answer = sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(n), "MessageBody": json.dumps(d, separators=(",", ":")),
             "DelaySeconds": delay} for n, d in enumerate(chunk)])
        if answer.get("Failed"):
            raise RuntimeError(f"{len(answer['Failed'])} webhook deliveries not queued")


# --- delivering -------------------------------------------------------------------------------

def deliver(body: str) -> str:
    """One delivery from the webhooks queue: DELIVERED, RETRYING (queued again with a delay),
    DEAD (kept in the dead letters) or DROPPED (its endpoint or callback is gone)."""
    delivery = json.loads(body)
    brand_id, target = delivery["brand_id"], delivery["target"]
    found = _target(brand_id, target)
    if found is None:
        return "DROPPED"
    url, secret = found
    raw = json.dumps(delivery["event"], separators=(",", ":")).encode()
    error = post(url, secret, delivery["event"], raw)
    if error is None:
        return "DELIVERED"
    attempt = int(delivery.get("attempt", 0)) + 1
    now = time.time()
    settings = get_settings()
    delay = min(MAX_DELAY_SECONDS, int(settings.webhook_retry_base_seconds * 2 ** (attempt - 1)))
    if now + delay - float(delivery["first_at"]) <= settings.webhook_retry_window_seconds:
        _queue([{**delivery, "attempt": attempt, "last_error": error}], delay=delay)
        return "RETRYING"
    endpoints.put_dead_letter(DeadLetterModel(
        brand_id, new_id("dlv", now), target=json.dumps(target), event=raw.decode(), url=url,
        attempts=attempt, first_at=float(delivery["first_at"]), failed_at=now,
        last_error=error))
    logger.warning("webhook delivery failed for the retry window; kept as a dead letter",
                   extra={"brand_id": brand_id, "event_id": delivery["event"]["id"]})
    return "DEAD"


def _target(brand_id: str, target: dict[str, str]) -> tuple[str, str] | None:
    if "endpoint_id" in target:
        endpoint = endpoints.get(brand_id, target["endpoint_id"])
        return (endpoint.url, endpoint.secret) if endpoint is not None else None
    campaign = _campaign(brand_id, target.get("campaign_id", ""))
    if campaign is None or not campaign.status_callback_url:
        return None
    return str(campaign.status_callback_url), str(campaign.status_callback_secret or "")


def post(url: str, secret: str, item: dict[str, Any], raw: bytes) -> str | None:
    """POST one signed event; None when the receiver answered 2xx, else why not."""
    headers = {"Content-Type": "application/json", "User-Agent": "proactive-webhooks/1",
               "X-Proactive-Event-Id": item["id"], "X-Proactive-Event-Type": item["type"],
               SIGNATURE_HEADER: sign(secret, int(time.time()), raw)}
    request = urllib.request.Request(url, data=raw, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310
            status = int(answer.status)
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return f"not reached: {exc}"[:300]
    return None if 200 <= status < 300 else f"HTTP {status}"


# --- dead letters (API) -----------------------------------------------------------------------

def dead_letter_view(item: DeadLetterModel) -> dict[str, Any]:
    return {"id": item.delivery_id, "url": item.url, "target": json.loads(item.target),
            "event": json.loads(item.event), "attempts": int(item.attempts),
            "first_at": iso(item.first_at), "failed_at": iso(item.failed_at),
            "last_error": item.last_error}


def dead_letters(principal: Principal, limit: int, cursor: str | None) -> dict[str, Any]:
    items, next_cursor = endpoints.dead_letters(principal.brand_id, limit, cursor)
    return {"items": [dead_letter_view(i) for i in items], "next_cursor": next_cursor}


def redeliver(principal: Principal, delivery_id: str) -> dict[str, Any]:
    """Queue a dead letter again (a new 24 h of retries); it leaves the dead letters."""
    item = endpoints.get_dead_letter(principal.brand_id, delivery_id)
    if item is None:
        raise NotFound(f"failed delivery {delivery_id} does not exist")
    _queue([_delivery(principal.brand_id, json.loads(item.target), json.loads(item.event),
                      time.time())])
    endpoints.delete_dead_letter(principal.brand_id, delivery_id)
    return {**dead_letter_view(item), "redelivered": True}


# --- consumer and campaign events -------------------------------------------------------------

def consumer_event(event_type: str, brand_id: str, phone: str, at: float,
                   source: str) -> None:
    """consumer.opted_out / consumer.opted_in, where the opt-out is recorded or lifted; a
    failure to queue is logged (the opt-out stands whatever happens to its event)."""
    try:
        publish([event(event_type, brand_id, {"phone": phone, "source": source}, at,
                       f"{phone}|{at}")])
    except Exception:  # noqa: BLE001 - the opt-out is stored; its event must not undo it
        logger.exception("consumer event not queued", extra={"type": event_type})


def publish_completions(records: list[dict[str, Any]]) -> int:
    """campaign.completed, once per campaign: after the counters of a stream batch are applied
    (aggregate_metrics), a RUNNING campaign a message of the batch finished is checked as the
    API shows it (views.display_status). Announced once (a marker); at least once if this
    fails after publishing."""
    touched: dict[str, str] = {}
    for record in records:
        ddb = record.get("dynamodb") or {}
        new, old = ddb.get("NewImage") or {}, ddb.get("OldImage") or {}
        status, before = _s(new, "status"), _s(old, "status")
        if status and status != before and status not in views.WAITING_STATUSES:
            brand_id, campaign_id = _s(new, "brand_id"), _s(new, "campaign_id")
            if brand_id and campaign_id:
                touched[campaign_id] = brand_id
    announced = 0
    for campaign_id, brand_id in touched.items():
        campaign = _campaign(brand_id, campaign_id)
        if campaign is None or campaign.status != "RUNNING":
            continue
        counts = {k: v for k, v in metrics.read_counters(*metrics.campaign_key(campaign_id))
                  .items() if v}
        if views.display_status(campaign, counts) != "COMPLETED":
            continue
        now = time.time()
        key = f"campaign-completed#{campaign_id}"
        if not markers.claim_once(key, now):
            continue
        try:
            publish([event("campaign.completed", brand_id, {
                "campaign_id": campaign_id, "name": campaign.name,
                "recipients": int(campaign.recipients_total or 0), "counts": counts},
                now, campaign_id)])
        except BaseException:
            markers.release(key)
            raise
        markers.finish(key, now)
        announced += 1
    return announced
