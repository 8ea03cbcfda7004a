"""Downloads: every campaign of the brand, every recipient and message of a campaign (CSV).

API Gateway and Lambda cap an answer at about 6 MB, so a file of more than INLINE_MAX_ROWS rows
or INLINE_MAX_BYTES bytes is written to S3 and answered with a pre-signed link instead; smaller
ones are answered directly. Either way the client gets the whole file.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain import analytics
from chalicelib.domain.csvfile import CsvWriter
from chalicelib.services import analytics as analytics_service
from chalicelib.services.auth import Principal
from chalicelib.services.views import iso
from chalicelib.store import campaigns, exports, messages, metrics
from chalicelib.store.models import MessageModel

INLINE_MAX_ROWS = 5000
INLINE_MAX_BYTES = 1_000_000
LINK_SECONDS = 3600

CAMPAIGN_COLUMNS = (
    "id", "name", "channel", "status", "skill", "from_number", "created_by", "created_at",
    "launch_at", "launched_at", "cancelled_at", "recipients", "recipient_errors", "sent",
    "delivered_gateway", "delivered", "failed", "responded", "opted_out", "success_rate",
    "response_rate", "opt_out_rate", "delivery_rate",
)
MESSAGE_COLUMNS = (
    "line", "phone", "status", "error_code", "reason", "channel", "sent", "delivered",
    "responded", "opted_out", "queued_at", "sent_at", "delivered_at", "responded_at",
    "opted_out_at", "updated_at", "gateway_id", "text", "external_id",
)


@dataclass(frozen=True)
class Export:
    filename: str
    rows: int
    body: bytes | None = None  # inline
    link: dict[str, Any] | None = None  # or a pre-signed download


def _finish(brand_id: str, filename: str, writer: CsvWriter, now: float, max_rows: int,
            max_bytes: int) -> Export:
    body = writer.getvalue()
    if writer.rows <= max_rows and len(body) <= max_bytes:
        return Export(filename, writer.rows, body=body)
    key = f"{brand_id}/{uuid.uuid4().hex}/{filename}"
    exports.put_export(key, body, filename)
    return Export(filename, writer.rows, link={
        "url": exports.download_url(key, LINK_SECONDS), "method": "GET", "filename": filename,
        "rows": writer.rows, "bytes": len(body), "expires_at": iso(now + LINK_SECONDS)})


def _stamp(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y%m%d-%H%M%S")


def campaigns_csv(principal: Principal, now: float | None = None,
                  max_rows: int = INLINE_MAX_ROWS, max_bytes: int = INLINE_MAX_BYTES) -> Export:
    now = time.time() if now is None else now
    writer = CsvWriter(CAMPAIGN_COLUMNS)
    for campaign in campaigns.iter_brand(principal.brand_id):
        counts = metrics.read_counters(*metrics.campaign_key(campaign.campaign_id))
        figures = analytics_service.campaign_metrics(campaign, counts)
        writer.write([
            campaign.campaign_id, campaign.name, campaign.channel, campaign.status,
            campaign.skill, campaign.from_number, campaign.created_by, iso(campaign.created_at),
            iso(campaign.launch_at), iso(campaign.launched_at), iso(campaign.cancelled_at),
            figures["recipients"], int(campaign.recipient_errors or 0), figures["sent"],
            figures["delivered_gateway"], figures["delivered"], figures["failed"],
            figures["responded"], figures["opted_out"], _rate(figures["success_rate"]),
            _rate(figures["response_rate"]), _rate(figures["opt_out_rate"]),
            # empty when unknown (no delivery reports), never a false 0
            _rate(figures["delivery_rate"]),
        ])
    return _finish(principal.brand_id, f"campaigns-{_stamp(now)}.csv", writer, now, max_rows,
                   max_bytes)


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def messages_csv(principal: Principal, campaign_id: str, now: float | None = None,
                 max_rows: int = INLINE_MAX_ROWS, max_bytes: int = INLINE_MAX_BYTES) -> Export:
    now = time.time() if now is None else now
    campaign = campaigns.get(principal.brand_id, campaign_id)  # 404 for another brand's
    writer = CsvWriter(MESSAGE_COLUMNS)
    batch: list[MessageModel] = []
    for message in messages.iter_campaign(campaign_id):
        if not messages.in_list(message, int(campaign.list_id or 0)):
            continue  # a line of a replaced list, not deleted yet: not a recipient
        batch.append(message)
        if len(batch) == 100:
            _write_messages(writer, principal.brand_id, campaign.channel, batch)
            batch = []
    _write_messages(writer, principal.brand_id, campaign.channel, batch)
    return _finish(principal.brand_id, f"{campaign_id}-messages-{_stamp(now)}.csv", writer, now,
                   max_rows, max_bytes)


def _write_messages(writer: CsvWriter, brand_id: str, channel: str,
                    batch: list[MessageModel]) -> None:
    opted = exports.opt_out_times(brand_id, (m.phone for m in batch))
    for m in batch:
        figures = analytics.metrics_for_status(m.status)
        writer.write([
            int(m.line or 0), m.phone, m.status, m.error_code, m.reason,
            m.sent_channel or channel, _yes("delivered_gateway" in figures),
            _yes("delivered" in figures), _yes("responded" in figures),
            _yes(m.phone in opted or m.error_code == "OPTED_OUT"), iso(m.queued_at),
            iso(m.sent_at), iso(m.delivered_at), iso(m.responded_at), iso(opted.get(m.phone)),
            iso(m.updated_at), m.sid, m.text, m.external_id,
        ])
