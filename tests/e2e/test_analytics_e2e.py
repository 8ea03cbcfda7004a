"""Analytics on the running local stack: a campaign's sends reach the counters through the real
stream pump, and a recount of the messages table finds no difference."""

from __future__ import annotations

import csv
import io
from typing import Any

from local.local_stack import LocalStack
from ops import recount
from tests.e2e.conftest import Http, stream_diagnosis


def test_sends_show_up_in_analytics_and_equal_a_recount(stack: LocalStack, demo: dict[str, Any],
                                                        http: Http) -> None:
    status, campaign = http("POST", "/campaigns", {
        "name": "Analytics", "channel": "sms", "from_number": demo["numbers"]["sms"][0],
        "skill": "support", "text": "Counted once",
        "schedule": {"send_rate": 10, "window": {"start": "00:00", "end": "24:00"}},
    })
    assert status == 201, campaign
    cid = campaign["id"]
    phones = [f"+1 212 555 {300 + n:04d}" for n in range(6)]
    http("POST", f"/campaigns/{cid}/recipients", "\n".join(phones), content_type="text/plain")
    status, _ = http("POST", f"/campaigns/{cid}/launch", {"consent": True})
    assert status == 200

    def counted() -> dict[str, Any] | None:
        body = http("GET", "/analytics?range=today&skills=support")[1]
        return body if body["totals"]["delivered_gateway"] == 6 else None

    body = stack.wait_for(counted, timeout=90)
    assert body, http("GET", "/analytics?range=today")[1]
    assert body["totals"]["sent"] == 6 and body["rates"]["success_rate"] == 1.0
    assert sum(row["sent"] for row in body["series"]) == 6

    status, listed = http("GET", "/campaigns")
    item = next(i for i in listed["items"] if i["id"] == cid)
    assert item["metrics"]["sent"] == 6 and item["metrics"]["recipients"] == 6
    status, report = http("GET", f"/campaigns/{cid}/messages.csv")
    rows = list(csv.DictReader(io.StringIO(report.lstrip("\ufeff"))))
    assert status == 200 and len(rows) == 6 and {r["sent"] for r in rows} == {"yes"}
    assert recount.main(["--endpoint", stack.moto_url]) == 0, stream_diagnosis(stack)
