"""Hold outbound to consumers in an open conversation (issue 14.11): by default a campaign does
not message a consumer who is talking with the brand's agents (SKIPPED, OPEN_CONVERSATION); the
campaign's schedule may turn the hold off."""

from __future__ import annotations

from typing import Any

from chalicelib.services import jobs
from chalicelib.store import messages
from tests.conftest import Api, Brand, campaign_body
from tests.service.inbound.conftest import Twilio
from tests.service.test_send_once import _drain_send_queue

ANN, BOB = "+12125550191", "+12125550192"


def _schedule(**extra: Any) -> dict[str, Any]:
    return {"send_rate": 50, "window": {"start": "00:00", "end": "24:00"}, **extra}


def _send(api: Api, brand: Brand, phones: list[str], **schedule: Any) -> tuple[str, dict[str, Any]]:
    status, campaign = api.call("POST", "/campaigns", brand,
                                json_body=campaign_body(schedule=_schedule(**schedule)))
    assert status == 201, campaign
    cid = str(campaign["id"])
    status, body = api.call("POST", f"/campaigns/{cid}/recipients", brand,
                            body="\n".join(phones), content_type="text/plain")
    assert status == 200 and body["accepted"] == len(phones), body
    status, body = api.call("POST", f"/campaigns/{cid}/launch", brand, json_body={"consent": True})
    assert status == 200, body
    jobs.launch(brand.brand_id, cid)
    _drain_send_queue(cid)
    return cid, campaign


def _outcome(cid: str) -> dict[str, tuple[str, str | None]]:
    return {m.phone: (str(m.status), m.error_code)
            for m in messages.iter_campaign(cid, consistent=True)}


def test_a_consumer_in_an_open_conversation_is_skipped_until_it_is_closed(
        api: Api, twilio: Twilio, brand: Brand) -> None:
    assert twilio.reply(ANN, brand.sms_number, "Is my order shipped?")[0] == 200
    status, listed = api.call("GET", "/conversations?status=open", brand, role="agent")
    [conversation] = listed["items"]

    cid, campaign = _send(api, brand, [ANN, BOB])
    assert campaign["schedule"]["hold_open_conversations"] is True  # the default
    assert _outcome(cid) == {ANN: ("SKIPPED", "OPEN_CONVERSATION"), BOB: ("SENT", None)}
    held = messages.get(cid, ANN)
    assert held is not None and "open conversation" in (held.reason or "")
    status, page = api.call("GET", f"/campaigns/{cid}/messages?status=SKIPPED", brand)
    assert status == 200 and [(m["phone"], m["error_code"]) for m in page["items"]] == [
        (ANN, "OPEN_CONVERSATION")], page

    # The schedule may turn the hold off: the consumer gets the message in the conversation
    cid, campaign = _send(api, brand, [ANN], hold_open_conversations=False)
    assert campaign["schedule"]["hold_open_conversations"] is False
    assert _outcome(cid) == {ANN: ("SENT", None)}

    # Once an agent closed it, the next campaign reaches the consumer again
    status, _ = api.call("POST", f"/conversations/{conversation['id']}/close", brand,
                         role="agent")
    assert status == 200
    cid, _ = _send(api, brand, [ANN])
    assert _outcome(cid) == {ANN: ("SENT", None)}


def test_the_hold_setting_is_validated_and_changed_on_a_draft(api: Api, brand: Brand) -> None:
    status, answer = api.call("POST", "/campaigns", brand, json_body=campaign_body(
        schedule=_schedule(hold_open_conversations="yes")))
    assert status == 400, answer
    assert answer["error"]["details"][0]["field"] == "schedule.hold_open_conversations"
    status, campaign = api.call("POST", "/campaigns", brand, json_body=campaign_body())
    assert status == 201 and campaign["schedule"]["hold_open_conversations"] is True
    status, changed = api.call("PATCH", f"/campaigns/{campaign['id']}", brand, json_body={
        "schedule": {"hold_open_conversations": False}})
    assert status == 200 and changed["schedule"]["hold_open_conversations"] is False, changed
    assert changed["schedule"]["send_rate"] == campaign["schedule"]["send_rate"]
