"""Conversation events on EventBridge for a contact centre (source "proactive").

- ConversationCreated: a consumer's reply opened a conversation; carries the transcript so far
  (the outbound campaign message first, then the consumer's message).
- ConsumerMessage: a later reply joined an open conversation; carries the new message and the
  transcript so far.
Both carry brand_id, conversation_id, skill, campaign_id, campaign_name, phone, channel and
brand_number (the number to answer from). Subscribe with a rule on the bus named EVENT_BUS_NAME.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib import aws
from chalicelib.config import get_settings
from chalicelib.logs import logger

SOURCE = "proactive"
CONVERSATION_CREATED = "ConversationCreated"
CONSUMER_MESSAGE = "ConsumerMessage"


def publish(detail_type: str, detail: dict[str, Any]) -> bool:
    """Put one event; retried once. False (logged) if EventBridge refused it: the reply is
    stored either way and agents still see it through the API."""
    bus = get_settings().event_bus_name
    if not bus:
        logger.warning("EVENT_BUS_NAME is not set; conversation event not published",
                       extra={"detail_type": detail_type})
        return False
    entry = {"Source": SOURCE, "DetailType": detail_type, "EventBusName": bus,
             "Detail": json.dumps(detail, separators=(",", ":"))}
    response: dict[str, Any] = {}
    for _attempt in range(2):
        try:
            response = aws.client("events").put_events(Entries=[entry])
        except Exception:  # noqa: BLE001 - the reply is stored; a lost event must not undo it
            logger.exception("conversation event not published", extra={"detail_type":
                                                                         detail_type})
            continue
        if not response.get("FailedEntryCount"):
            return True
    logger.error("conversation event refused by EventBridge",
                 extra={"detail_type": detail_type, "entries": response.get("Entries")})
    return False
