"""WhatsApp templates through the gateway's Content API, and WhatsApp/Prioritized campaigns."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api, Brand, campaign_body
from tests.service.recipients.conftest import WHATSAPP_NUMBER, create_template


def test_a_submitted_template_is_pending_then_approved(api: Api, brand: Brand,
                                                       sandbox: Any) -> None:
    draft = create_template(api, brand, submit=False)
    assert draft["status"] == "DRAFT" and draft["content_sid"].startswith("HX")
    assert draft["variable_count"] == 2
    status, submitted = api.call("POST", f"/templates/{draft['id']}/submit", brand, role="admin")
    assert status == 200 and submitted["status"] == "PENDING"
    status, fetched = api.call("GET", f"/templates/{draft['id']}", brand)
    assert fetched["status"] == "APPROVED" and fetched["reason"] is None
    status, listing = api.call("GET", "/templates?status=APPROVED", brand)
    assert [t["id"] for t in listing["items"]] == [draft["id"]]
    status, again = api.call("POST", f"/templates/{draft['id']}/submit", brand, role="admin")
    assert status == 409


def test_the_gateway_rejects_by_rule_with_a_reason(api: Api, brand: Brand, sandbox: Any) -> None:
    template = create_template(api, brand, name="reject_this_one")
    status, fetched = api.call("GET", f"/templates/{template['id']}", brand)
    assert fetched["status"] == "REJECTED" and "reject" in fetched["reason"]


@pytest.mark.parametrize("body,field", [
    ({"name": "Bad Name", "language": "en", "category": "UTILITY", "body": "Hi"}, "name"),
    ({"name": "ok", "language": "english", "category": "UTILITY", "body": "Hi"}, "language"),
    ({"name": "ok", "language": "en", "category": "SPAM", "body": "Hi"}, "category"),
    ({"name": "ok", "language": "en", "category": "UTILITY", "body": "Hi {{2}}"}, "body"),
    ({"name": "ok", "language": "en", "category": "UTILITY", "body": "Hi {{name}}"}, "body"),
])
def test_bad_templates_name_the_field(api: Api, brand: Brand, body: dict[str, Any],
                                      field: str) -> None:
    status, answer = api.call("POST", "/templates", brand, role="admin", json_body=body)
    assert status == 400 and answer["error"]["details"][0]["field"] == field, answer


def test_campaign_managers_create_and_submit_templates_agents_do_not(
        api: Api, brand: Brand, sandbox: Any) -> None:
    body = {"name": "by_manager", "language": "en_US", "category": "UTILITY",
            "body": "Hi {{1}}"}
    for role in ("agent", "agent_manager"):
        status, answer = api.call("POST", "/templates", brand, role=role, json_body=body)
        assert status == 403, answer
    status, template = api.call("POST", "/templates", brand, json_body=body)
    assert status == 201 and template["status"] == "DRAFT", template
    status, answer = api.call("POST", f"/templates/{template['id']}/submit", brand,
                              role="agent")
    assert status == 403, answer
    status, submitted = api.call("POST", f"/templates/{template['id']}/submit", brand)
    assert status == 200 and submitted["status"] == "PENDING", submitted
    status, fetched = api.call("GET", f"/templates/{template['id']}", brand)
    assert fetched["status"] == "APPROVED"


def test_prioritized_sms_fallback_may_be_longer_than_one_segment_when_allowed(
        api: Api, brand: Brand, whatsapp_number: str, approved: dict[str, Any]) -> None:
    body = campaign_body(channel="prioritized", from_number=WHATSAPP_NUMBER,
                         template_id=approved["id"], fallback_from_number="+12125550100")
    status, campaign = api.call("POST", "/campaigns", brand, json_body=body)
    assert status == 201 and campaign["allow_multi_segment"] is False, campaign
    name = "Annabelle " * 12  # the filled-in template with the opt-out text: ~170 characters
    lines = f"+1 212 555 0101,{name.strip()},A-1\n+1 212 555 0102,Bo,B-2"
    path = f"/campaigns/{campaign['id']}/recipients"
    status, result = api.call("POST", path, brand, body=lines, content_type="text/plain")
    assert status == 200 and result["accepted"] == 1, result
    [refused] = result["rejected"]
    assert refused["line"] == 1 and refused["errors"][0]["code"] == "MESSAGE_TOO_LONG"
    assert "the SMS fallback" in refused["errors"][0]["message"]
    # Parse says the same, and accepts it with the choice
    parse = {"channel": "prioritized", "template_id": approved["id"], "content": lines}
    status, parsed = api.call("POST", "/recipients/parse", brand, json_body=parse)
    assert parsed["summary"]["invalid"] == 1
    status, parsed = api.call("POST", "/recipients/parse", brand,
                              json_body={**parse, "allow_multi_segment": True})
    assert parsed["summary"] == {"total": 2, "valid": 2, "invalid": 0, "header": None}
    assert parsed["lines"][0]["segments"] == 2

    # The choice on the campaign (PATCH here; POST takes it too): the list is given again
    status, changed = api.call("PATCH", f"/campaigns/{campaign['id']}", brand,
                               json_body={"allow_multi_segment": True})
    assert status == 200 and changed["allow_multi_segment"] is True, changed
    assert changed["recipients_cleared"] is True
    status, result = api.call("POST", path, brand, body=lines, content_type="text/plain")
    assert status == 200 and result["accepted"] == 2 and not result["rejected"], result
    status, created = api.call("POST", "/campaigns", brand,
                               json_body={**body, "allow_multi_segment": True})
    assert status == 201 and created["allow_multi_segment"] is True


def test_whatsapp_campaign_needs_an_approved_template_of_the_brand(
        api: Api, brand: Brand, other_brand: Brand, whatsapp_number: str,
        approved: dict[str, Any]) -> None:
    pending = create_template(api, brand, name="not_yet", submit=False)
    body = campaign_body(channel="whatsapp", from_number=WHATSAPP_NUMBER,
                         template_id=pending["id"])
    status, answer = api.call("POST", "/campaigns", brand, json_body=body)
    assert status == 400 and answer["error"]["details"][0]["field"] == "template_id"
    assert "DRAFT" in answer["error"]["message"]
    body["template_id"] = approved["id"]
    status, campaign = api.call("POST", "/campaigns", brand, json_body=body)
    assert status == 201 and campaign["template_id"] == approved["id"], campaign
    status, answer = api.call("POST", "/campaigns", other_brand, json_body=campaign_body(
        channel="whatsapp", from_number="+14155550100", template_id=approved["id"]))
    assert status == 400


def test_prioritized_campaign_needs_an_sms_fallback_number(
        api: Api, brand: Brand, whatsapp_number: str, approved: dict[str, Any]) -> None:
    body = campaign_body(channel="prioritized", from_number=WHATSAPP_NUMBER,
                         template_id=approved["id"])
    status, answer = api.call("POST", "/campaigns", brand, json_body=body)
    assert status == 400 and "fallback_from_number" in answer["error"]["message"]
    body["fallback_from_number"] = WHATSAPP_NUMBER
    status, answer = api.call("POST", "/campaigns", brand, json_body=body)
    assert status == 400 and answer["error"]["details"][0]["field"] == "fallback_from_number"
    body["fallback_from_number"] = "+1 212 555 0100"
    status, campaign = api.call("POST", "/campaigns", brand, json_body=body)
    assert status == 201 and campaign["fallback_from_number"] == "+12125550100"
    status, result = api.call("POST", f"/campaigns/{campaign['id']}/recipients", brand,
                              body="+1 212 555 0101,Ann,A-1\n+1 212 555 0102,Bo",
                              content_type="text/plain")
    assert status == 200 and result["accepted"] == 1
    assert result["preview"][0]["fallback_text"] == (
        "Hi Ann, your order A-1 is ready\nReply STOP to opt out")
    assert result["rejected"][0]["errors"][0]["code"] == "INSUFFICIENT_VARIABLES"
    status, errors = api.call("GET", f"/campaigns/{campaign['id']}/recipients?errors=true",
                              brand)
    assert [i["line"] for i in errors["items"]] == [2]
    status, lines = api.call("GET", f"/campaigns/{campaign['id']}/recipients", brand)
    assert lines["items"][0]["variables"] == ["Ann", "A-1"]


def test_parse_preview_stores_nothing(api: Api, brand: Brand, approved: dict[str, Any]) -> None:
    status, answer = api.call("POST", "/recipients/parse", brand, json_body={
        "channel": "whatsapp", "template_id": approved["id"],
        "content": "phone,name,order\n+1 212 555 0101,Ann,A-1\n+1 212 555 0101,Ann,A-1\n"
                   "+800 1234 5678,Cy,C-3"})
    assert status == 200, answer
    assert answer["summary"]["total"] == 3 and answer["summary"]["invalid"] == 1
    assert answer["lines"][0]["text"] == "Hi Ann, your order A-1 is ready"
    assert answer["lines"][1]["errors"][0]["code"] == "DUPLICATE_NUMBER"
    assert "time zone" in answer["lines"][2]["zone_note"]
    status, answer = api.call("POST", "/recipients/parse", brand, json_body={
        "channel": "sms", "content": "+12125550101"})
    assert status == 400 and answer["error"]["details"][0]["field"] == "text"


def test_another_brands_templates_and_uploads_are_not_found(
        api: Api, brand: Brand, other_brand: Brand, approved: dict[str, Any]) -> None:
    assert api.call("GET", f"/templates/{approved['id']}", other_brand)[0] == 404
    assert api.call("POST", f"/templates/{approved['id']}/submit", other_brand,
                    role="admin")[0] == 404
    assert api.call("GET", "/templates", other_brand)[1]["items"] == []
    status, campaign = api.call("POST", "/campaigns", brand, json_body=campaign_body())
    for method, path in [("POST", f"/campaigns/{campaign['id']}/recipients/upload"),
                         ("GET", f"/campaigns/{campaign['id']}/recipients?errors=true")]:
        assert api.call(method, path, other_brand)[0] == 404, path
    for role in ("agent", "agent_manager"):
        assert api.call("POST", "/recipients/parse", brand, role=role, json_body={
            "channel": "sms", "text": "Hi", "content": "+12125550101"})[0] == 403


# --- admins archive, restore and delete templates, whatever their approval (issue 14.9) -------

def test_admins_archive_and_restore_a_template_campaign_managers_may_not(
        api: Api, brand: Brand, whatsapp_number: str, approved: dict[str, Any]) -> None:
    draft = create_template(api, brand, name="kept_draft", submit=False)
    body = campaign_body(channel="whatsapp", from_number=WHATSAPP_NUMBER,
                         template_id=approved["id"])
    status, campaign = api.call("POST", "/campaigns", brand, json_body=body)
    assert status == 201, campaign
    path = f"/templates/{approved['id']}"
    for action in ("archive", "unarchive"):
        status, answer = api.call("POST", f"{path}/{action}", brand)
        assert status == 403, answer
    status, answer = api.call("DELETE", path, brand)
    assert status == 403, answer

    # archived (a campaign uses it: it keeps its template): gone from the wizard's list
    status, archived = api.call("POST", f"{path}/archive", brand, role="admin")
    assert status == 200 and archived["archived_at"] and archived["status"] == "APPROVED"
    _, listing = api.call("GET", "/templates", brand)
    assert [t["id"] for t in listing["items"]] == [draft["id"]]
    _, listing = api.call("GET", "/templates?status=APPROVED", brand)
    assert listing["items"] == []
    _, listing = api.call("GET", "/templates?status=ARCHIVED", brand)
    assert [t["id"] for t in listing["items"]] == [approved["id"]]
    status, fetched = api.call("GET", path, brand)
    assert status == 200 and fetched["archived_at"] == archived["archived_at"]
    status, still = api.call("GET", f"/campaigns/{campaign['id']}", brand)
    assert status == 200 and still["template_id"] == approved["id"]
    status, again = api.call("POST", f"{path}/archive", brand, role="admin")
    assert status == 409, again

    status, restored = api.call("POST", f"{path}/unarchive", brand, role="admin")
    assert status == 200 and restored["archived_at"] is None
    _, listing = api.call("GET", "/templates?status=APPROVED", brand)
    assert [t["id"] for t in listing["items"]] == [approved["id"]]
    _, audit = api.call("GET", "/audit?limit=2", brand, role="admin")
    assert [e["action"] for e in audit["items"]] == ["template.unarchive", "template.archive"]
    assert audit["items"][0]["target"] == approved["id"]


def test_admins_delete_a_template_unless_a_campaign_uses_it(
        api: Api, brand: Brand, whatsapp_number: str, approved: dict[str, Any]) -> None:
    draft = create_template(api, brand, name="unused_draft", submit=False)
    status, answer = api.call("DELETE", "/templates/tpl_unknown", brand, role="admin")
    assert status == 404, answer
    body = campaign_body(channel="whatsapp", from_number=WHATSAPP_NUMBER,
                         template_id=approved["id"], name="Spring sale")
    status, campaign = api.call("POST", "/campaigns", brand, json_body=body)
    assert status == 201, campaign
    status, answer = api.call("DELETE", f"/templates/{approved['id']}", brand, role="admin")
    assert status == 409 and answer["error"]["code"] == "TEMPLATE_IN_USE", answer
    assert "Spring sale" in answer["error"]["message"]
    assert campaign["id"] in answer["error"]["message"]

    status, deleted = api.call("DELETE", f"/templates/{draft['id']}", brand, role="admin")
    assert status == 200 and deleted == {"deleted": draft["id"]}, deleted
    status, answer = api.call("GET", f"/templates/{draft['id']}", brand)
    assert status == 404, answer
    _, audit = api.call("GET", "/audit?limit=1", brand, role="admin")
    [entry] = audit["items"]
    assert entry["action"] == "template.delete" and entry["target"] == draft["id"]
    assert entry["before"]["name"] == "unused_draft" and entry["after"] is None

    # once the campaign no longer may send, the template may go
    status, _ = api.call("POST", f"/campaigns/{campaign['id']}/cancel", brand)
    assert status == 200
    status, deleted = api.call("DELETE", f"/templates/{approved['id']}", brand, role="admin")
    assert status == 200, deleted
