"""Helpers for analytics tests: messages with known outcomes written to the real messages table,
and the table's real DynamoDB stream (moto) delivered to the aggregate_metrics handler."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chalicelib import aws
from chalicelib.store.models import BrandModel, CampaignModel, MessageModel
from local.pumps import LambdaContext, invoke

# What each final status counts in (PRODUCT: sent, delivered to gateway / consumer, failed,
# responded): written out here independently of the code under test.
FIGURES = {
    "SENT": {"sent", "delivered_gateway"},
    "DELIVERED": {"sent", "delivered_gateway", "delivered"},
    "RESPONDED": {"sent", "delivered_gateway", "delivered", "responded"},
    "UNDELIVERED": {"sent", "delivered_gateway", "failed"},
    "FAILED": {"sent", "failed"},
    "SKIPPED": set(),
    "SCHEDULED": set(),
}
PATHS = {
    "SENT": ["SCHEDULED", "QUEUED", "SENDING", "SENT"],
    "DELIVERED": ["QUEUED", "SENDING", "SENT", "DELIVERED"],
    "RESPONDED": ["QUEUED", "SENDING", "SENT", "DELIVERED", "RESPONDED"],
    "UNDELIVERED": ["QUEUED", "SENDING", "SENT", "UNDELIVERED"],
    "FAILED": ["QUEUED", "SENDING", "FAILED"],
    "SKIPPED": ["SCHEDULED", "SKIPPED"],
    "SCHEDULED": ["SCHEDULED"],
}


def at(iso: str) -> float:
    return datetime.fromisoformat(iso).replace(tzinfo=UTC).timestamp() if "+" not in iso \
        else datetime.fromisoformat(iso).timestamp()


def set_time_zone(brand_id: str, time_zone: str) -> None:
    BrandModel(brand_id).update(actions=[BrandModel.time_zone.set(time_zone)])


def new_campaign(brand_id: str, campaign_id: str, skill: str, name: str = "Spring sale",
                 created_at: float = 0.0) -> str:
    CampaignModel(brand_id, campaign_id, name=name, channel="sms", from_number="+12125550100",
                  skill=skill, text="Spring sale", status="RUNNING", created_at=created_at,
                  launched_at=created_at, recipients_total=0).save()
    return campaign_id


@dataclass(frozen=True)
class Planned:
    campaign_id: str
    brand_id: str
    skill: str
    phone: str
    final: str
    sent_at: float

    def local_day(self, time_zone: str) -> str:
        return datetime.fromtimestamp(self.sent_at, ZoneInfo(time_zone)).date().isoformat()


def play(m: Planned) -> None:
    """Write the message and walk it through its statuses, as the send path and callbacks do."""
    MessageModel(m.campaign_id, m.phone, brand_id=m.brand_id, skill=m.skill, channel="sms",
                 text="Spring sale\nReply STOP to opt out", status="PENDING",
                 created_at=m.sent_at - 7200).save()
    item = MessageModel(m.campaign_id, m.phone)
    for status in PATHS[m.final]:
        actions: list[Any] = [MessageModel.status.set(status)]
        if status in ("SCHEDULED", "QUEUED", "SENDING"):
            actions.append(MessageModel.updated_at.set(m.sent_at - 60))
        elif status == "SENT":
            actions += [MessageModel.sent_at.set(m.sent_at), MessageModel.updated_at.set(
                m.sent_at), MessageModel.sid.set(f"SM{abs(hash(m.phone)):032d}"[:34])]
        elif status == "FAILED":
            actions += [MessageModel.updated_at.set(m.sent_at),
                        MessageModel.error_code.set("21211")]
        elif status == "DELIVERED":
            actions += [MessageModel.delivered_at.set(m.sent_at + 5),
                        MessageModel.updated_at.set(m.sent_at + 5)]
        elif status == "UNDELIVERED":
            actions += [MessageModel.updated_at.set(m.sent_at + 5),
                        MessageModel.error_code.set("30003")]
        elif status == "RESPONDED":
            actions += [MessageModel.responded_at.set(m.sent_at + 3600),
                        MessageModel.updated_at.set(m.sent_at + 3600)]
        elif status == "SKIPPED":
            actions += [MessageModel.error_code.set("OPTED_OUT"),
                        MessageModel.updated_at.set(m.sent_at)]
        item.update(actions=actions)


class Stream:
    """The messages table's stream on moto, read like Lambda's poller does."""

    def __init__(self) -> None:
        self.client = aws.client("dynamodbstreams")
        self.arn = os.environ["MESSAGES_STREAM_ARN"]
        self.positions: dict[str, str] = {}

    def read_new(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        shards = self.client.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            while True:
                last = self.positions.get(shard_id)
                kwargs: dict[str, Any] = {"ShardIteratorType": "TRIM_HORIZON"} if last is None \
                    else {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": last}
                iterator = self.client.get_shard_iterator(StreamArn=self.arn, ShardId=shard_id,
                                                          **kwargs)["ShardIterator"]
                got = self.client.get_records(ShardIterator=iterator, Limit=1000)["Records"]
                if not got:
                    break
                for record in got:
                    record["eventSourceARN"] = self.arn
                    ddb = record["dynamodb"]
                    if isinstance(ddb.get("ApproximateCreationDateTime"), datetime):
                        ddb["ApproximateCreationDateTime"] = ddb[
                            "ApproximateCreationDateTime"].timestamp()
                records += got
                self.positions[shard_id] = got[-1]["dynamodb"]["SequenceNumber"]
        return records


def deliver(records: list[dict[str, Any]]) -> Any:
    """Call the stream handler exactly as Lambda would."""
    from app import app

    return invoke(app, "aggregate_metrics", {"Records": records},
                  LambdaContext("aggregate_metrics"))


@pytest.fixture
def stream(aws: dict[str, str]) -> Stream:
    return Stream()
