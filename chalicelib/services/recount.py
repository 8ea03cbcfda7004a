"""Reconciliation: recount the counters from the messages table and report every difference
(docs/design.md#invariant-6). `make recount` recounts everything; the daily schedule on AWS
recounts the campaigns that may still change and logs a metric (CounterDifferences) and the details.

Opt-outs count as a mark on the message the consumer received (opted_out_at), so they are
recounted like every other figure.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from chalicelib.domain import analytics
from chalicelib.logs import logger
from chalicelib.services.metrics import contribution
from chalicelib.store import campaigns, messages, metrics

RECENT_DAYS = 35
CHECK_EVERY_SECONDS = 20 * 3600
SETTLE_SECONDS = 30.0
BRAND_DAYS_CHECKED = 2  # whole UTC days before today whose brand counters the schedule checks


@dataclass(frozen=True)
class Difference:
    pk: str
    sk: str
    counter: str
    expected: int
    actual: int

    def to_dict(self) -> dict[str, Any]:
        return {"pk": self.pk, "sk": self.sk, "counter": self.counter,
                "expected": self.expected, "actual": self.actual}


@dataclass
class Report:
    messages: int = 0
    items: int = 0
    differences: list[Difference] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"messages": self.messages, "items_compared": self.items,
                "differences": [d.to_dict() for d in self.differences]}


def _differences(key: metrics.Key, have: Mapping[str, int], want: Mapping[str, int]
                 ) -> list[Difference]:
    found = []
    for name in sorted(set(have) | set(want)):
        actual, expected = int(have.get(name, 0)), int(want.get(name, 0))
        if analytics.parse_counter_name(name) is not None:  # packed quarter figures
            got, recount = analytics.unpack(actual), analytics.unpack(expected)
            found += [Difference(key[0], key[1], f"{name}.{metric}", recount[metric],
                                 got[metric])
                      for metric in analytics.MESSAGE_METRICS if got[metric] != recount[metric]]
        elif actual != expected:
            found.append(Difference(key[0], key[1], name, expected, actual))
    return found


def expected_counters(images: Iterable[dict[str, Any]]) -> tuple[int, dict[metrics.Key,
                                                                          Counter[str]]]:
    """(number of messages, counters they add up to) from message items (DynamoDB JSON)."""
    expected: dict[metrics.Key, Counter[str]] = {}
    count = 0
    for image in images:
        count += 1
        for key, counters in contribution(image).items():
            expected.setdefault(key, Counter()).update(counters)
    return count, expected


def compare(expected: dict[metrics.Key, Counter[str]],
            actual: Iterable[tuple[metrics.Key, dict[str, int]]]) -> tuple[int, list[Difference]]:
    differences: list[Difference] = []
    seen: set[metrics.Key] = set()
    for key, counters in actual:
        seen.add(key)
        differences += _differences(key, counters, expected.get(key, Counter()))
    for key, want in expected.items():
        if key not in seen:
            differences += _differences(key, {}, want)
    return len(seen | set(expected)), differences


def reconcile_all() -> Report:
    """Recount every counter from the whole messages table."""
    count, expected = expected_counters(messages.raw_items())
    items, differences = compare(expected, metrics.iter_all())
    return Report(count, items, differences)


def _recent_campaigns(now: float, days: int) -> list[tuple[str, str]]:
    return list(campaigns.recently_touched(now - days * 86400))


def reconcile_recent(now: float | None = None, days: int = RECENT_DAYS,
                     brand_days: int = BRAND_DAYS_CHECKED) -> Report:
    """Recount the campaigns that can still change (running, or touched within `days`), and the
    brand counters of the last `brand_days` whole UTC days, which only those campaigns feed."""
    now = time.time() if now is None else now
    recent = _recent_campaigns(now, days)
    report = Report()
    expected: dict[metrics.Key, Counter[str]] = {}
    actual: list[tuple[metrics.Key, dict[str, int]]] = []
    for _, campaign_id in recent:
        count, found = expected_counters(messages.raw_campaign_items(campaign_id))
        report.messages += count
        for key, counters in found.items():
            expected.setdefault(key, Counter()).update(counters)
        actual.append((metrics.campaign_key(campaign_id),
                       metrics.read_counters(*metrics.campaign_key(campaign_id))))
        actual += [(metrics.campaign_day_key(campaign_id, day), counters)
                   for day, counters in metrics.campaign_days(campaign_id)]
    today = datetime.fromtimestamp(now, UTC).date()
    checked_days = {(today - timedelta(days=n)).isoformat() for n in range(1, brand_days + 1)}
    for brand_id in sorted({b for b, _ in recent}):
        for day in sorted(checked_days):
            actual += [(metrics.brand_day_key(brand_id, d, skill), counters)
                       for d, skill, counters in metrics.brand_days(brand_id, day, day)]
    wanted = {key: counters for key, counters in expected.items()
              if key[0].startswith("campaign#") or key[1][4:14] in checked_days}
    report.items, report.differences = compare(wanted, actual)
    return report


def _persisting(first: Report, second: Report) -> list[Difference]:
    """Differences found by both recounts with the same drift (counted - recount): a message
    whose stream record was still on its way shows in one recount only."""
    drift = {(d.pk, d.sk, d.counter, d.actual - d.expected) for d in first.differences}
    return [d for d in second.differences
            if (d.pk, d.sk, d.counter, d.actual - d.expected) in drift]


def scheduled_check(now: float | None = None, settle_seconds: float = SETTLE_SECONDS
                    ) -> dict[str, Any]:
    """The daily check on AWS: log the result and a CloudWatch metric (embedded metric format).
    Runs at most once in CHECK_EVERY_SECONDS, however often it is invoked. Running campaigns
    change while they are recounted, so a difference is reported only when a second recount
    `settle_seconds` later finds the same drift."""
    now = time.time() if now is None else now
    if not metrics.claim_run("reconcile", now, CHECK_EVERY_SECONDS):
        return {"skipped": True}
    report = reconcile_recent(now)
    if report.differences:
        time.sleep(settle_seconds)
        again = reconcile_recent(now)
        again.differences = _persisting(report, again)
        report = again
    emitter = Metrics(namespace="Proactive", service="proactive")
    emitter.add_metric(name="CounterDifferences", unit=MetricUnit.Count,
                       value=len(report.differences))
    emitter.add_metric(name="MessagesRecounted", unit=MetricUnit.Count, value=report.messages)
    emitter.flush_metrics()
    summary = {"messages": report.messages, "items_compared": report.items,
               "differences": len(report.differences)}
    if report.differences:
        logger.error("counters differ from a recount of the messages table",
                     extra={**summary, "details": [d.to_dict() for d in
                                                   report.differences[:50]]})
    else:
        logger.info("counters equal a recount of the messages table", extra=summary)
    return summary
