"""Analytics read cost: a 90-day, all-skills query must cost the same DynamoDB requests for 1,000
and for 1,000,000 aggregated messages (counters, not scans), on moto server over HTTP.

- 1,000 messages go the real way: written to the messages table, read back from its stream and
  applied by the aggregate_metrics handler.
- 1,000,000 messages: the counters they would produce are written directly (a dense item for
  every brand x skill x UTC day, every quarter hour holding counts), which is the worst case for
  the read: every item full.

Requests are counted with a botocore event hook on every DynamoDB client the app uses.
"""

from __future__ import annotations

import os
import statistics
import time
from collections import Counter
from typing import Any

from bench._report import write_section

SKILLS = ("sales", "support", "billing")
DAYS = 91  # the 90 local days of the range touch 91 UTC days
RUNS = 15


def _setup() -> Any:
    from local.local_resources import REGION, create_resources
    from local.local_stack import quiet_logs
    from local.moto_server import MotoServer

    quiet_logs()
    server = MotoServer().start()
    env = create_resources(server.url)
    env.update({"AWS_ENDPOINT_URL": server.url, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION, "POWERTOOLS_LOG_LEVEL": "WARNING"})
    os.environ.update(env)
    from chalicelib import config

    config.reset_settings()
    return server


def _brand(brand_id: str) -> None:
    from chalicelib.store.models import BrandModel, SkillModel

    BrandModel(brand_id, name=brand_id, time_zone="Asia/Kolkata", created_at=time.time()).save()
    for skill in SKILLS:
        SkillModel(brand_id, skill, name=skill).save()


class RequestCounter:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def attach(self) -> None:
        from chalicelib import aws
        from chalicelib.store.models import ALL_MODELS

        clients = [aws.client("dynamodb")]
        clients += [m._get_connection().connection.client for m in ALL_MODELS]
        seen: set[int] = set()
        for client in clients:
            if id(client) not in seen:
                seen.add(id(client))
                client.meta.events.register("before-call.dynamodb", self)


def _through_the_stream(brand_id: str, count: int, now: float) -> dict[str, float]:
    """`count` messages sent over the last 90 days, aggregated by the real stream handler."""
    import boto3

    from app import app
    from chalicelib.store.models import MessageModel
    from local.pumps import LambdaContext

    started = time.perf_counter()
    with MessageModel.batch_write() as batch:
        for n in range(count):
            sent = now - (n * 7919 % (89 * 86400))
            status = ("SENT", "DELIVERED", "RESPONDED", "FAILED", "UNDELIVERED")[n % 5]
            batch.save(MessageModel(
                f"cmp_{n % 10}", f"+1212555{n:04d}", brand_id=brand_id,
                skill=SKILLS[n % len(SKILLS)], channel="sms", status=status, sent_at=sent,
                updated_at=sent, created_at=sent - 60))
    written = time.perf_counter() - started
    streams = boto3.client("dynamodbstreams", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    arn = os.environ["MESSAGES_STREAM_ARN"]
    handler = app.handler_map["aggregate_metrics"]
    started = time.perf_counter()
    records = 0
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=100)
            got = page.get("Records") or []
            if not got:
                break
            for record in got:
                record["eventSourceARN"] = arn
                ddb = record["dynamodb"]
                if hasattr(ddb.get("ApproximateCreationDateTime"), "timestamp"):
                    ddb["ApproximateCreationDateTime"] = ddb["ApproximateCreationDateTime"] \
                        .timestamp()
            handler({"Records": got}, LambdaContext("aggregate_metrics"))
            records += len(got)
            iterator = page.get("NextShardIterator")
    return {"write_s": written, "aggregate_s": time.perf_counter() - started,
            "records": records}


def _dense_counters(brand_id: str, total: int, now: float) -> int:
    """The counters `total` messages spread over every quarter hour would leave."""
    from datetime import UTC, datetime, timedelta

    from chalicelib.domain import analytics
    from chalicelib.store import metrics

    today = datetime.fromtimestamp(now, UTC).date()
    buckets = DAYS * len(SKILLS) * analytics.QUARTERS_PER_DAY
    per_bucket, extra = divmod(total, buckets)
    items = []
    index = 0
    for d in range(DAYS):
        day = (today - timedelta(days=d)).isoformat()
        for skill in SKILLS:
            counters: dict[str, int] = {}
            for q in range(analytics.QUARTERS_PER_DAY):
                sent = per_bucket + (1 if index < extra else 0)
                index += 1
                counters[analytics.counter_name(q)] = analytics.pack({
                    "sent": sent, "delivered_gateway": sent - sent // 20,
                    "delivered": sent - sent // 10, "failed": sent // 10,
                    "responded": sent // 8, "opted_out": sent // 50})
            items.append((metrics.brand_day_key(brand_id, day, skill), counters))
    metrics.put_counters(items)
    return len(items)


def _measure(brand_id: str, counter: RequestCounter, range_name: str) -> dict[str, Any]:
    from chalicelib.services import analytics
    from chalicelib.services.auth import Principal

    principal = Principal(brand_id, "admin", "bench", "bench")
    counter.calls.clear()
    result = analytics.brand_analytics(principal, range_name)
    calls = dict(counter.calls)
    latencies = []
    for _ in range(RUNS):
        started = time.perf_counter()
        analytics.brand_analytics(principal, range_name)
        latencies.append((time.perf_counter() - started) * 1000)
    return {"calls": calls, "sent": result["totals"]["sent"],
            "median_ms": statistics.median(latencies), "max_ms": max(latencies)}


def main() -> None:
    server = _setup()
    try:
        now = time.time()
        _brand("small")
        _brand("large")
        stream = _through_the_stream("small", 1000, now)
        items = _dense_counters("large", 1_000_000, now)
        counter = RequestCounter()
        counter.attach()
        rows = []
        for label, brand_id in (("1,000 (through the stream)", "small"),
                                ("1,000,000 (counters written directly)", "large")):
            for range_name in ("last_90_days", "today"):
                m = _measure(brand_id, counter, range_name)
                calls = ", ".join(f"{k} {v}" for k, v in sorted(m["calls"].items()))
                rows.append(f"| {label} | {range_name} | {m['sent']:,} | {calls} | "
                            f"{sum(m['calls'].values())} | {m['median_ms']:.0f} | "
                            f"{m['max_ms']:.0f} |")
    finally:
        server.stop()
    body = "\n".join([
        "A 90-day, all-skills `GET /analytics` (service call, brand in Asia/Kolkata, 3 skills) "
        "reads the brand's day items (one per skill and UTC day, 96 packed quarter-hour "
        "numbers each): one Query over the brand's partition plus the brand's GetItem, "
        "whatever the number of messages.",
        "",
        "| Aggregated messages | Range | Sent in range | DynamoDB requests | Total | "
        f"Median ms ({RUNS} runs) | Max ms |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Dense case: {items} counter items written directly (every quarter hour of {DAYS} UTC "
        f"days x {len(SKILLS)} skills). Stream case: {stream['records']} stream records "
        f"aggregated by the handler in {stream['aggregate_s']:.1f} s "
        f"({stream['records'] / max(stream['aggregate_s'], 1e-9):.0f} records/s on moto; "
        f"messages written in {stream['write_s']:.1f} s).",
        "",
        "The request count is the same; the dense case's latency on moto is moto's response "
        "serialiser (about 0.15 ms per attribute: 273 items x 96 numbers). On DynamoDB the same "
        "read is one Query page: a full day item is about 2.2 KB, so 90 days x 3 skills is about "
        "600 KB (< 1 MB per page); pages grow with days x skills, never with messages.",
    ])
    write_section("analytics", "Analytics reads: counters, not scans", body)


if __name__ == "__main__":
    main()
