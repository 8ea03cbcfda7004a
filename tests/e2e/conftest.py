"""The whole local stack on free loopback ports, driven over HTTP like a user would."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from local.local_stack import LocalStack
from local.seed import seed_demo


class Http:
    def __init__(self, base: str, key: str | None = None) -> None:
        self.base, self.key = base, key

    def __call__(self, method: str, path: str, body: Any = None,
                 content_type: str = "application/json", key: str | None = None) -> tuple[int,
                                                                                          Any]:
        data = None
        if body is not None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        headers = {"Content-Type": content_type}
        if key or self.key:
            headers["Authorization"] = f"Bearer {key or self.key}"
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as err:
            raw, status = err.read(), err.code
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode()


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    # Sends may reach the sandbox up to 0.15 s after their slot on a busy 2-core test machine
    # (the stack, the sandbox and a second test worker share it) and still keep every second
    # within the rate (dispatch.slot_interval); on AWS the margin is 0.015 s.
    local = LocalStack(tick_seconds=2.0, release_horizon_seconds=60,
                       extra_env={"SEND_RATE_MARGIN_SECONDS": "0.15"}).start()
    try:
        yield local
    finally:
        local.stop()
    # No stream batch may have failed every retry (it would be missing from the counters).
    assert not stream_failures(local)


def stream_failures(stack: LocalStack) -> dict[str, int]:
    return {p.name: p.failed_records for p in stack.pumps if getattr(p, "failed_records", 0)}


@pytest.fixture
def demo(stack: LocalStack) -> dict[str, Any]:
    return seed_demo()


@pytest.fixture
def http(stack: LocalStack, demo: dict[str, Any]) -> Http:
    return Http(stack.api_url, demo["keys"]["campaign_manager"])


def sandbox_messages(stack: LocalStack) -> list[dict[str, Any]]:
    with urllib.request.urlopen(stack.sandbox.url + "/sandbox/messages") as response:
        return list(json.loads(response.read())["messages"])


def stream_diagnosis(stack: LocalStack) -> str:
    """Why counters may differ from a recount: stream records that no marker says were
    applied, and items whose record chain breaks (a record's old image is not the previous
    record's new image). For assertion messages."""
    session = boto3.session.Session(region_name="us-east-1")
    ddb = session.client("dynamodb", endpoint_url=stack.moto_url)
    streams = session.client("dynamodbstreams", endpoint_url=stack.moto_url)
    arn = stack.env["MESSAGES_STREAM_ARN"]
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while True:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            if not page["Records"]:
                break
            records += page["Records"]
            iterator = page["NextShardIterator"]
    metrics_pages = ddb.get_paginator("scan").paginate(TableName=stack.env["METRICS_TABLE"])
    applied = {item["pk"]["S"].removeprefix("applied#") for page in metrics_pages
               for item in page["Items"] if item["pk"]["S"].startswith("applied#")}

    def status(image: dict[str, Any] | None) -> str | None:
        return image.get("status", {}).get("S") if image else None

    unapplied = Counter((status(r["dynamodb"].get("OldImage")),
                         status(r["dynamodb"].get("NewImage")))
                        for r in records if r["eventID"] not in applied)
    last: dict[str, str | None] = {}
    breaks: Counter[tuple[str | None, str | None]] = Counter()
    for r in records:
        keys = r["dynamodb"]["Keys"]
        item = keys["campaign_id"]["S"] + "#" + keys["phone"]["S"]
        old, new = status(r["dynamodb"].get("OldImage")), status(r["dynamodb"].get("NewImage"))
        if last.get(item) != old:
            breaks[(last.get(item), old)] += 1
        last[item] = new
    pumps = [(p.name, p.errors, getattr(p, "failed_records", 0)) for p in stack.pumps
             if p.name.startswith("stream")]
    return (f"stream records {len(records)}, not applied {dict(unapplied)}, chain breaks "
            f"(previous new -> next old) {dict(breaks)}, stream pumps {pumps}")
