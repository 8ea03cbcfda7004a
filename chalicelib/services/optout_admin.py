"""The opt-out list for admins: read (JSON pages or CSV), add, remove. Brand-wide, all channels."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import unquote

from chalicelib.domain import phones
from chalicelib.domain.csvfile import CsvWriter
from chalicelib.domain.errors import NotFound, field_error
from chalicelib.logs import logger, mask_phone
from chalicelib.services import conversations, webhooks_out
from chalicelib.services.auth import Principal
from chalicelib.services.views import iso
from chalicelib.store import optouts
from chalicelib.store.models import OptOutModel

CSV_COLUMNS = ("phone", "source", "keyword", "number", "campaign_id", "by", "created_at")
CSV_MAX_ROWS = 50_000  # a Lambda answer holds about 6 MB; more rows come with a next cursor


def optout_view(item: OptOutModel) -> dict[str, Any]:
    return {"phone": item.phone, "source": item.source, "keyword": item.keyword,
            "number": item.number, "campaign_id": item.campaign_id, "by": item.by,
            "created_at": iso(item.created_at)}


def _phone(raw: str) -> str:
    parsed = phones.normalize(unquote(raw))
    if isinstance(parsed, phones.PhoneError):
        raise field_error("phone", parsed.message)
    return parsed.e164


def list_page(principal: Principal, limit: int, cursor: str | None,
              phone: str | None) -> dict[str, Any]:
    if phone:
        item = optouts.get(principal.brand_id, _phone(phone))
        return {"items": [optout_view(item)] if item else [], "next_cursor": None}
    items, next_cursor = optouts.page(principal.brand_id, limit, cursor)
    return {"items": [optout_view(i) for i in items], "next_cursor": next_cursor}


def csv_export(principal: Principal, cursor: str | None) -> tuple[str, str | None]:
    """(CSV text, next cursor or None): every opt-out of the brand, CSV_MAX_ROWS at a time.
    Written like every other export (csvfile.CsvWriter: a BOM for Excel, and cells that start
    like a formula neutralised, e.g. an admin key's label in `by`)."""
    writer = CsvWriter(CSV_COLUMNS)
    rows = 0
    while True:
        items, cursor = optouts.page(principal.brand_id, min(1000, CSV_MAX_ROWS - rows), cursor)
        for item in items:
            view = optout_view(item)
            writer.write(view[c] for c in CSV_COLUMNS)
        rows += len(items)
        if cursor is None or rows >= CSV_MAX_ROWS:
            return writer.getvalue().decode("utf-8"), cursor


def put(principal: Principal, raw_phone: str) -> tuple[dict[str, Any], bool]:
    """Opt a consumer out (admin); (record, created)."""
    phone = _phone(raw_phone)
    now = time.time()
    item, created = optouts.record(principal.brand_id, phone, source="admin", now=now,
                                   by=principal.label or principal.key_id)
    if created:
        conversations.close_open_for(principal.brand_id, phone, "opted out by an admin", now)
        webhooks_out.consumer_event("consumer.opted_out", principal.brand_id, phone, now,
                                    "admin")
        logger.info("opt-out added by an admin", extra={"phone": mask_phone(phone),
                                                        "by": principal.key_id})
    return optout_view(item), created


def delete(principal: Principal, raw_phone: str) -> dict[str, Any]:
    phone = _phone(raw_phone)
    if not optouts.delete(principal.brand_id, phone):
        raise NotFound(f"{phone} is not opted out")
    webhooks_out.consumer_event("consumer.opted_in", principal.brand_id, phone, time.time(),
                                "admin")
    logger.info("opt-out removed by an admin", extra={"phone": mask_phone(phone),
                                                      "by": principal.key_id})
    return {"phone": phone, "opted_out": False}
