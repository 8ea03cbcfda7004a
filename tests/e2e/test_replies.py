"""Replies on the local stack, over HTTP: the sandbox plays the consumers and the carrier
(signed webhooks, status callbacks in any order), the API and pumps do the rest."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from local.local_stack import LocalStack
from tests.e2e.conftest import Http, sandbox_messages

ANN, BOB, CAT, DAN = "+12125550131", "+12125550132", "+12125550133", "+12125550134"


def _sandbox(stack: LocalStack, path: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(stack.sandbox.url + path, data=json.dumps(body).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return dict(json.loads(response.read()))


def _campaign(http: Http, demo: dict[str, Any], phones: list[str], rate: float = 10) -> str:
    status, campaign = http("POST", "/campaigns", {
        "name": "Spring launch", "channel": "sms", "from_number": demo["numbers"]["sms"][0],
        "skill": "sales", "text": "Spring is here: new colours in store",
        "schedule": {"send_rate": rate, "window": {"start": "00:00", "end": "24:00"}}})
    assert status == 201, campaign
    cid = str(campaign["id"])
    status, parsed = http("POST", f"/campaigns/{cid}/recipients", "\n".join(phones),
                          content_type="text/plain")
    assert status == 200 and parsed["accepted"] == len(phones), parsed
    status, launched = http("POST", f"/campaigns/{cid}/launch", {"consent": True})
    assert status == 200, launched
    return cid


def _statuses(http: Http, cid: str) -> dict[str, str]:
    status, page = http("GET", f"/campaigns/{cid}/messages?limit=50")
    assert status == 200, page
    return {m["phone"]: m["status"] for m in page["items"]}


def test_replies_stop_question_help_then_the_next_campaign_skips_the_opted_out(
        stack: LocalStack, demo: dict[str, Any], http: Http) -> None:
    number = demo["numbers"]["sms"][0]
    # The carrier reports back out of order, even before the gateway answered our send request
    # (so before we could record the message id); Dan's phone is unreachable.
    _sandbox(stack, "/sandbox/callbacks", {"mode": "delivered", "before_answer": True,
                                           "order": "reversed", "outcomes": {DAN: "30003"}})
    first = _campaign(http, demo, [ANN, BOB, CAT, DAN])
    expected = {ANN: "DELIVERED", BOB: "DELIVERED", CAT: "DELIVERED", DAN: "UNDELIVERED"}
    assert stack.wait_for(lambda: _statuses(http, first) == expected, timeout=60), \
        _statuses(http, first)

    # The consumers answer: one STOP, one question, one HELP
    for phone, text in ((ANN, "Stop"), (BOB, "Do you have it in green?"), (CAT, "help")):
        answer = _sandbox(stack, "/sandbox/reply", {"from": phone, "to": number, "body": text})
        assert answer["webhook_status"] == 200, answer

    bodies = {m["to"]: m["body"] for m in sandbox_messages(stack) if m["from_"] == number
              and not m["body"].startswith("Spring")}
    assert "unsubscribed" in bodies[ANN] and bodies[CAT] == "Reply STOP to opt out."
    assert BOB not in bodies  # a question goes to an agent, not to an automatic answer

    agent = demo["keys"]["agent"]
    status, page = http("GET", "/conversations?skill=sales&status=open", key=agent)
    assert status == 200 and [c["phone"] for c in page["items"]] == [BOB]
    status, conversation = http("GET", f"/conversations/{page['items'][0]['id']}", key=agent)
    assert [(e["author"], e["text"]) for e in conversation["transcript"]] == [
        ("outbound", "Spring is here: new colours in store\nReply STOP to opt out"),
        ("consumer", "Do you have it in green?")]
    status, _ = http("POST", f"/conversations/{conversation['id']}/messages",
                     {"text": "Yes, in three shades!"}, key=agent)
    assert status == 200
    assert stack.wait_for(lambda: _statuses(http, first)[BOB] == "RESPONDED", timeout=10)
    assert stack.wait_for(
        lambda: http("GET", f"/campaigns/{first}")[1]["counts"]["RESPONDED"] == 1, timeout=20)

    status, optouts = http("GET", "/optouts", key=demo["keys"]["admin"])
    assert [(o["phone"], o["source"], o["keyword"]) for o in optouts["items"]] == [
        (ANN, "keyword", "STOP")]

    # A second campaign to the same list skips the one who opted out, and holds the one still
    # in an open conversation with an agent (issue 14.11: the default)
    second = _campaign(http, demo, [ANN, BOB, CAT, DAN])
    assert stack.wait_for(lambda: _statuses(http, second)[ANN] == "SKIPPED" and _statuses(
        http, second)[BOB] == "SKIPPED" and all(
        s in ("DELIVERED", "UNDELIVERED") for p, s in _statuses(http, second).items()
        if p not in (ANN, BOB)), timeout=60), _statuses(http, second)
    to_ann = [m for m in sandbox_messages(stack) if m["to"] == ANN
              and m["body"].startswith("Spring")]
    assert len(to_ann) == 1  # the first campaign's only
    status, page = http("GET", f"/campaigns/{second}/messages?status=SKIPPED")
    assert sorted((m["phone"], m["error_code"]) for m in page["items"]) == sorted(
        [(ANN, "OPTED_OUT"), (BOB, "OPEN_CONVERSATION")])


def test_an_opt_out_mid_campaign_stops_what_is_already_queued(
        stack: LocalStack, demo: dict[str, Any], http: Http) -> None:
    phones = [f"+1212555{n:04d}" for n in range(141, 147)]
    last = phones[-1]
    cid = _campaign(http, demo, phones, rate=1)  # one a second: the last is due in ~5 s
    assert stack.wait_for(lambda: "SENT" in _statuses(http, cid).values(), timeout=30)
    assert _statuses(http, cid)[last] in ("SCHEDULED", "QUEUED")  # already on its way

    answer = _sandbox(stack, "/sandbox/reply", {"from": last, "to": demo["numbers"]["sms"][0],
                                                "body": "STOP"})
    assert answer["webhook_status"] == 200

    assert stack.wait_for(lambda: all(s in ("SENT", "SKIPPED")
                                      for s in _statuses(http, cid).values()), timeout=60)
    final = _statuses(http, cid)
    assert final[last] == "SKIPPED"
    assert [p for p, s in final.items() if s == "SENT"] == phones[:-1]
    campaign_texts = [m for m in sandbox_messages(stack) if m["to"] == last
                      and m["body"].startswith("Spring")]
    assert campaign_texts == []


def test_a_stop_the_table_throttled_is_applied_by_the_inbound_pump(
        stack: LocalStack, demo: dict[str, Any], http: Http) -> None:
    from tests import awscalls

    number, admin = demo["numbers"]["sms"][0], demo["keys"]["admin"]
    table = stack.env["OPT_OUTS_TABLE"]
    with awscalls.faults.inject("dynamodb", "PutItem", times=1,
                                when=lambda params: params.get("TableName") == table) as fault:
        answer = _sandbox(stack, "/sandbox/reply", {"from": ANN, "to": number, "body": "STOP"})
    assert answer["webhook_status"] == 200, answer  # queued, not lost
    assert fault.fired == 1
    # The local stack pumps the inbound queue to apply_inbound like Lambda's event source.
    assert stack.wait_for(lambda: [o["phone"] for o in http(
        "GET", "/optouts", key=admin)[1]["items"]] == [ANN], timeout=30)
    assert stack.wait_for(lambda: any(
        m["to"] == ANN and "unsubscribed" in m["body"] for m in sandbox_messages(stack)),
        timeout=10)
