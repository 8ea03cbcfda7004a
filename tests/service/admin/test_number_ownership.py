"""A campaign sends only from numbers its brand owns, at the moment it sends (issue 11 point 2).

Scenario: brand A removes a number its draft uses, brand B registers it, A launches: A would
send from B's number (and A's consumers' STOPs would reach B)."""

from __future__ import annotations

from typing import Any

from chalicelib.services import jobs
from chalicelib.store import messages
from chalicelib.store.models import SenderNumberModel
from local.sandbox import SandboxServer
from tests.conftest import Api, Brand, campaign_body
from tests.service.recipients.conftest import WHATSAPP_NUMBER, create_template
from tests.service.test_send_once import _drain_send_queue

SHARED = "+12125550177"
PHONES = ["+12125550101", "+12125550102"]


def _add_number(api: Api, brand: Brand, number: str) -> tuple[int, Any]:
    return api.call("POST", "/numbers", brand, role="admin",
                    json_body={"number": number, "channel": "sms", "rate": 20})


def _draft(api: Api, brand: Brand, **overrides: Any) -> str:
    status, body = api.call("POST", "/campaigns", brand, json_body=campaign_body(**overrides))
    assert status == 201, body
    cid = str(body["id"])
    status, body = api.call("POST", f"/campaigns/{cid}/recipients", brand,
                            body="\n".join(PHONES), content_type="text/plain")
    assert status == 200, body
    return cid


def _launch(api: Api, brand: Brand, cid: str) -> tuple[int, Any]:
    return api.call("POST", f"/campaigns/{cid}/launch", brand, json_body={"consent": True})


def test_a_number_a_draft_uses_cannot_be_removed_and_go_to_another_brand(
        api: Api, brand: Brand, other_brand: Brand, sandbox: SandboxServer) -> None:
    assert _add_number(api, brand, SHARED)[0] == 201
    cid = _draft(api, brand, name="Spring sale", from_number=SHARED)

    status, answer = api.call("DELETE", f"/numbers/%2B{SHARED[1:]}", brand, role="admin")
    assert status == 409 and answer["error"]["code"] == "NUMBER_IN_USE", answer
    assert "'Spring sale'" in answer["error"]["message"] and cid in answer["error"]["message"]
    status, answer = _add_number(api, other_brand, SHARED)
    assert status == 409 and answer["error"]["code"] == "NUMBER_TAKEN", answer
    assert "acme" not in answer["error"]["message"].lower()  # the holder is not revealed

    assert _launch(api, brand, cid)[0] == 200
    jobs.launch(brand.brand_id, cid)
    _drain_send_queue(cid)
    assert sorted((m["to"], m["from_"]) for m in sandbox.sandbox.snapshot()) == [
        (phone, SHARED) for phone in PHONES]

    # once the campaign is over, the number may go (and then belongs to whoever registers it)
    assert api.call("POST", f"/campaigns/{cid}/cancel", brand)[0] == 200
    status, answer = api.call("DELETE", f"/numbers/%2B{SHARED[1:]}", brand, role="admin")
    assert status == 200, answer
    assert _add_number(api, other_brand, SHARED)[0] == 201


def test_a_number_used_as_the_sms_fallback_cannot_be_removed(
        api: Api, brand: Brand, sandbox: SandboxServer) -> None:
    SenderNumberModel(WHATSAPP_NUMBER, brand_id=brand.brand_id, channel="whatsapp",
                      kind="whatsapp", rate=20).save()
    template = create_template(api, brand)
    assert api.call("GET", f"/templates/{template['id']}", brand)[1]["status"] == "APPROVED"
    assert _add_number(api, brand, SHARED)[0] == 201
    status, body = api.call("POST", "/campaigns", brand, json_body=campaign_body(
        name="Orders", channel="prioritized", from_number=WHATSAPP_NUMBER,
        template_id=template["id"], fallback_from_number=SHARED))
    assert status == 201, body
    status, answer = api.call("DELETE", f"/numbers/%2B{SHARED[1:]}", brand, role="admin")
    assert status == 409 and "'Orders'" in answer["error"]["message"], answer


def test_launch_refuses_a_from_number_that_is_no_longer_the_brands(
        api: Api, brand: Brand, other_brand: Brand, sandbox: SandboxServer) -> None:
    assert _add_number(api, brand, SHARED)[0] == 201
    cid = _draft(api, brand, from_number=SHARED)
    # a removal that raced the draft's creation, and another brand registered the number
    SenderNumberModel(SHARED).delete()
    assert _add_number(api, other_brand, SHARED)[0] == 201

    status, answer = _launch(api, brand, cid)
    assert status == 409 and answer["error"]["code"] == "NUMBER_NOT_OWNED", answer
    assert answer["error"]["details"][0]["field"] == "from_number"
    assert SHARED in answer["error"]["message"]
    status, campaign = api.call("GET", f"/campaigns/{cid}", brand)
    assert campaign["status"] == "DRAFT"
    assert sandbox.sandbox.snapshot() == []


def test_the_send_consumer_refuses_a_number_that_moved_to_another_brand(
        api: Api, brand: Brand, other_brand: Brand, sandbox: SandboxServer) -> None:
    number = "+12125550178"  # not read by any consumer before (the owner is cached)
    assert _add_number(api, brand, number)[0] == 201
    cid = _draft(api, brand, from_number=number)
    assert _launch(api, brand, cid)[0] == 200
    # it moves to another brand after launch, behind the API's back, before the sends
    SenderNumberModel(number).delete()
    assert _add_number(api, other_brand, number)[0] == 201
    jobs.launch(brand.brand_id, cid)
    _drain_send_queue(cid)

    assert sandbox.sandbox.snapshot() == []
    stored = list(messages.iter_campaign(cid, consistent=True))
    assert [(m.status, m.error_code) for m in stored] == [("FAILED", "SENDER_NOT_OWNED")] * 2
    assert all(number in str(m.reason) for m in stored)
