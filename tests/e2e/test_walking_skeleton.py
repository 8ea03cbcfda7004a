"""One SMS campaign end to end on the local stack, over HTTP, as a user would run it."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from local.local_stack import LocalStack
from tests.e2e.conftest import Http, sandbox_messages


def test_campaign_of_20_at_5_per_second_reaches_everyone_once_and_never_faster(
        stack: LocalStack, demo: dict[str, Any], http: Http) -> None:
    # Given a campaign of 20 recipients at 5 messages a second, window open all day
    status, campaign = http("POST", "/campaigns", {
        "name": "Skeleton", "channel": "sms", "from_number": demo["numbers"]["sms"][0],
        "skill": "sales", "text": "Hello from the walking skeleton",
        "schedule": {"send_rate": 5, "window": {"start": "00:00", "end": "24:00"}},
    })
    assert status == 201, campaign
    cid = campaign["id"]
    phones = [f"+1 212 555 {100 + n:04d}" for n in range(1, 21)]
    status, parsed = http("POST", f"/campaigns/{cid}/recipients", "\n".join(phones),
                          content_type="text/plain")
    assert status == 200 and parsed["accepted"] == 20 and parsed["rejected"] == []

    # When it is launched
    status, launched = http("POST", f"/campaigns/{cid}/launch", {"consent": True})
    assert status == 200 and launched["status"] == "RUNNING"

    # Then the API shows all 20 SENT
    def all_sent() -> bool:
        counts = http("GET", f"/campaigns/{cid}")[1]["counts"]
        return bool(counts["SENT"] == 20)

    assert stack.wait_for(all_sent, timeout=60), http("GET", f"/campaigns/{cid}")[1]["counts"]

    # and the gateway got exactly one message per recipient, never more than 5 in a second
    received = sandbox_messages(stack)
    per_phone = Counter(m["to"] for m in received)
    expected = {"+1212555" + p[-4:] for p in phones}
    assert set(per_phone) == expected and set(per_phone.values()) == {1}
    instants = sorted(m["received_at"] for m in received)
    per_second = Counter(math.floor(t) for t in instants)
    assert max(per_second.values()) <= 5, per_second
    for i in range(len(instants) - 5):
        assert instants[i + 5] - instants[i] >= 1.0, "6 sends within one second"
    assert all(m["body"] == "Hello from the walking skeleton\nReply STOP to opt out"
               for m in received)

    # and the campaign shows as COMPLETED once every recipient is done
    assert http("GET", f"/campaigns/{cid}")[1]["status"] == "COMPLETED"

    # and every message is listed with its gateway id
    status, page = http("GET", f"/campaigns/{cid}/messages?limit=50")
    assert status == 200
    assert {m["status"] for m in page["items"]} == {"SENT"}
    assert all(m["sid"].startswith("SM") and m["sent_at"] for m in page["items"])


def test_agent_key_is_refused_on_the_running_stack(stack: LocalStack,
                                                  demo: dict[str, Any], http: Http) -> None:
    status, body = http("GET", "/campaigns", key=demo["keys"]["agent"])
    assert status == 403 and body["error"]["code"] == "FORBIDDEN"
    status, doc = http("GET", "/openapi.json")
    assert status == 200 and "/campaigns" in doc["paths"]
