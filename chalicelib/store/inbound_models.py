"""Models of replies: conversations and the inbound markers (unique keys with a TTL).

Keys and indexes must match infra/resources/inbound.yaml (tests/service/test_infra_contract.py).
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from chalicelib.store.models import register


class EntryAttribute(MapAttribute[str, Any]):
    """One line of a transcript: the outbound campaign message, a consumer's or an agent's."""

    at = NumberAttribute()
    author = UnicodeAttribute()  # outbound | consumer | agent
    text = UnicodeAttribute(default="")
    sid = UnicodeAttribute(null=True)  # the gateway's message id
    campaign_id = UnicodeAttribute(null=True)
    by = UnicodeAttribute(null=True)  # the agent's key label


class ConversationSkillIndex(GlobalSecondaryIndex["ConversationModel"]):
    class Meta:
        index_name = "skill-index"
        projection = IncludeProjection(["phone", "skill", "campaign_id", "status", "channel",
                                        "created_at", "updated_at", "last_text"])

    brand_skill = UnicodeAttribute(hash_key=True)  # "<brand_id>#<skill>"
    conversation_id = UnicodeAttribute(range_key=True)


class ConversationModel(Model):
    class Meta:
        table_name = "ConversationsTable"
        logical_id = "ConversationsTable"

    brand_id = UnicodeAttribute(hash_key=True)
    conversation_id = UnicodeAttribute(range_key=True)  # time-ordered: newest sorts last
    brand_skill = UnicodeAttribute()
    skill = UnicodeAttribute()
    phone = UnicodeAttribute()  # the consumer, E.164
    brand_number = UnicodeAttribute()  # the brand's number they wrote to; agents answer from it
    channel = UnicodeAttribute()  # sms | whatsapp
    campaign_id = UnicodeAttribute(null=True)  # None: no campaign within the look-back period
    campaign_name = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="open")  # open | closed
    entries = ListAttribute[EntryAttribute](of=EntryAttribute, default=list)
    last_text = UnicodeAttribute(null=True)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()
    closed_at = NumberAttribute(null=True)
    closed_by = UnicodeAttribute(null=True)
    skill_index = ConversationSkillIndex()


class InboundMarkerModel(Model):
    """A key that exists at most once (conditional put): `inbound#<MessageSid>`,
    `status#<MessageSid>#<status>`, `open#<brand>#<phone>`, `callback#<MessageSid>`."""

    class Meta:
        table_name = "InboundMarkersTable"
        logical_id = "InboundMarkersTable"

    key = UnicodeAttribute(hash_key=True)
    state = UnicodeAttribute(null=True)
    value = UnicodeAttribute(null=True)
    # callback#: the gateway statuses waiting for their send, and the send once it is recorded.
    pending = UnicodeSetAttribute(null=True)
    campaign_id = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    created_at = NumberAttribute(null=True)
    expires_at = NumberAttribute(null=True)


for _model in (ConversationModel, InboundMarkerModel):
    register(_model)
