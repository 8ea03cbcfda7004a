"""PATCH /campaigns/{id}: a DRAFT is changed in place, checked as create checks it; a change of
what recipients receive forgets the stored list, which is then given again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.services import jobs
from chalicelib.store import campaigns as campaign_store
from chalicelib.store.models import SenderNumberModel
from tests.conftest import Api, Brand, campaign_body
from tests.service.inbound.conftest import Twilio
from tests.service.recipients.conftest import WHATSAPP_NUMBER, create_template
from tests.service.recipients.test_csv_upload import _pump, _put
from tests.service.test_send_once import _drain_send_queue

ANN, BOB = "+12125550101", "+12125550102"


def _draft(api: Api, brand: Brand, recipients: str | None = None, **overrides: Any) -> str:
    status, body = api.call("POST", "/campaigns", brand, json_body=campaign_body(**overrides))
    assert status == 201, body
    cid = str(body["id"])
    if recipients is not None:
        status, body = api.call("POST", f"/campaigns/{cid}/recipients", brand, body=recipients,
                                content_type="text/plain")
        assert status == 200, body
    return cid


def _patch(api: Api, brand: Brand, cid: str, changes: Any,
           role: str = "campaign_manager") -> tuple[int, Any]:
    return api.call("PATCH", f"/campaigns/{cid}", brand, role=role, json_body=changes)


def _get(api: Api, brand: Brand, cid: str) -> dict[str, Any]:
    status, campaign = api.call("GET", f"/campaigns/{cid}", brand)
    assert status == 200, campaign
    return dict(campaign)


def _launch(api: Api, brand: Brand, cid: str) -> tuple[int, Any]:
    return api.call("POST", f"/campaigns/{cid}/launch", brand, json_body={"consent": True})


def test_a_drafts_name_and_schedule_change_in_place_and_its_recipients_stay(
        api: Api, brand: Brand) -> None:
    cid = _draft(api, brand, f"{ANN}\n{BOB}")
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)

    status, answer = _patch(api, brand, cid, {
        "name": "Winter sale, final days",
        "schedule": {"send_rate": 2, "window": {"start": "09:00", "end": "20:00"},
                     "launch_at": tomorrow.isoformat()}})

    assert status == 200, answer
    assert answer["recipients_cleared"] is False
    campaign = _get(api, brand, cid)
    assert campaign["name"] == "Winter sale, final days"
    assert campaign["schedule"] == {"send_rate": 2.0,
                                    "window": {"start": "09:00", "end": "20:00"},
                                    "launch_at": tomorrow.isoformat().replace("+00:00", "Z"),
                                    "hold_open_conversations": True}
    assert campaign["status"] == "DRAFT" and campaign["recipients"] == 2
    assert campaign["updated_at"] >= campaign["created_at"]
    # A schedule given in part keeps the rest; null puts the launch back to "when launched"
    status, answer = _patch(api, brand, cid, {"schedule": {"send_rate": 3, "launch_at": None}})
    assert status == 200, answer
    assert _get(api, brand, cid)["schedule"] == {
        "send_rate": 3.0, "window": {"start": "09:00", "end": "20:00"}, "launch_at": None,
        "hold_open_conversations": True}
    # Still one campaign, launched as edited
    assert [c["id"] for c in api.call("GET", "/campaigns", brand)[1]["items"]] == [cid]
    status, launched = _launch(api, brand, cid)
    assert status == 200 and launched["status"] == "RUNNING"
    assert launched["name"] == "Winter sale, final days"


def test_new_text_forgets_the_list_which_given_again_is_sent_with_the_new_text(
        api: Api, brand: Brand) -> None:
    cid = _draft(api, brand, f"{ANN}\n{BOB}\nnot a number")
    assert _get(api, brand, cid)["recipient_errors"] == 1

    status, answer = _patch(api, brand, cid, {"text": "Winter sale: 30% off today"})

    assert status == 200, answer
    assert answer["recipients_cleared"] is True
    assert answer["text"] == "Winter sale: 30% off today"
    assert (answer["recipients"], answer["recipient_errors"]) == (0, 0)
    assert api.call("GET", f"/campaigns/{cid}/recipients", brand)[1]["items"] == []
    assert api.call("GET", f"/campaigns/{cid}/recipients?errors=true", brand)[1]["items"] == []
    status, refused = _launch(api, brand, cid)
    assert status == 409 and refused["error"]["code"] == "NO_RECIPIENTS"

    # The list given again is rendered with the new text, and the campaign launches and sends it
    status, parsed = api.call("POST", f"/campaigns/{cid}/recipients", brand,
                              body=f"{ANN}\n{BOB}", content_type="text/plain")
    assert status == 200 and parsed["accepted"] == 2
    assert parsed["preview"][0]["text"] == "Winter sale: 30% off today\nReply STOP to opt out"
    status, launched = _launch(api, brand, cid)
    assert status == 200 and launched["status"] == "RUNNING", launched
    jobs.launch(brand.brand_id, cid)
    _drain_send_queue(cid)
    sent = api.call("GET", f"/campaigns/{cid}/messages", brand)[1]["items"]
    assert {(m["phone"], m["status"]) for m in sent} == {(ANN, "SENT"), (BOB, "SENT")}
    assert {m["text"] for m in sent} == {"Winter sale: 30% off today\nReply STOP to opt out"}


def test_changes_that_do_not_touch_the_messages_keep_the_list(api: Api, brand: Brand) -> None:
    SenderNumberModel("+12125550199", brand_id=brand.brand_id, channel="sms",
                      kind="long_code").save()
    cid = _draft(api, brand, ANN)
    for changes in ({"from_number": "+1 212 555 0199"}, {"skill": "support"},
                    {"text": campaign_body()["text"]}, {"allow_multi_segment": False}):
        status, answer = _patch(api, brand, cid, changes)
        assert status == 200 and answer["recipients_cleared"] is False, (changes, answer)
    campaign = _get(api, brand, cid)
    assert (campaign["from_number"], campaign["skill"]) == ("+12125550199", "support")
    assert campaign["recipients"] == 1
    # A content change of a draft without a list has nothing to clear
    empty = _draft(api, brand)
    assert _patch(api, brand, empty, {"allow_multi_segment": True})[1][
        "recipients_cleared"] is False


def test_replies_go_to_the_skill_chosen_after_the_list_was_given(
        api: Api, brand: Brand) -> None:
    cid = _draft(api, brand, ANN, skill="sales")
    assert _patch(api, brand, cid, {"skill": "support"})[0] == 200
    assert _launch(api, brand, cid)[0] == 200
    jobs.launch(brand.brand_id, cid)
    _drain_send_queue(cid)

    assert Twilio(api).reply(ANN, brand.sms_number, "Is it in blue too?")[0] == 200

    [conversation] = api.call("GET", "/conversations", brand)[1]["items"]
    assert (conversation["skill"], conversation["campaign_id"]) == ("support", cid)


def test_a_new_text_during_an_upload_forgets_it_and_the_file_landing_later_is_ignored(
        api: Api, brand: Brand, aws: dict[str, str]) -> None:
    cid = _draft(api, brand)
    status, upload = api.call("POST", f"/campaigns/{cid}/recipients/upload", brand)
    assert status == 201

    status, answer = _patch(api, brand, cid, {"text": "Prices drop at noon"})
    assert status == 200 and answer["recipients_cleared"] is True and answer["upload"] is None

    assert _put(upload, f"{ANN}\n{BOB}\n".encode()) == 204
    pump = _pump(aws)
    assert pump.poll_once() == 1 and pump.errors == 0
    campaign = _get(api, brand, cid)
    assert (campaign["upload"], campaign["recipients"]) == (None, 0)


def test_switching_channels_is_checked_as_a_whole_and_forgets_the_list(
        api: Api, brand: Brand, sandbox: Any) -> None:
    SenderNumberModel(WHATSAPP_NUMBER, brand_id=brand.brand_id, channel="whatsapp",
                      kind="whatsapp", rate=20).save()
    template = create_template(api, brand)
    assert api.call("GET", f"/templates/{template['id']}", brand)[1]["status"] == "APPROVED"
    cid = _draft(api, brand, ANN)

    # WhatsApp needs a template and a WhatsApp number: each is named, nothing changes
    status, answer = _patch(api, brand, cid, {"channel": "whatsapp"})
    assert status == 400 and "needs an approved 'template_id'" in answer["error"]["message"]
    status, answer = _patch(api, brand, cid, {"channel": "whatsapp",
                                              "template_id": template["id"]})
    assert status == 400 and answer["error"]["details"][0]["field"] == "from_number"
    assert _get(api, brand, cid)["channel"] == "sms"

    status, answer = _patch(api, brand, cid, {
        "channel": "prioritized", "template_id": template["id"], "from_number": WHATSAPP_NUMBER,
        "fallback_from_number": brand.sms_number})
    assert status == 200, answer
    assert answer["recipients_cleared"] is True and answer["recipients"] == 0
    assert (answer["channel"], answer["text"], answer["fallback_from_number"]) == (
        "prioritized", None, brand.sms_number)
    status, parsed = api.call("POST", f"/campaigns/{cid}/recipients", brand,
                              body=f"{ANN}, Ann, A-1", content_type="text/plain")
    assert parsed["accepted"] == 1, parsed
    # Plain WhatsApp has no SMS fallback: the stored one goes with the channel change
    status, answer = _patch(api, brand, cid, {"channel": "whatsapp"})
    assert status == 200, answer
    assert answer["fallback_from_number"] is None and answer["recipients_cleared"] is True


@pytest.mark.parametrize("changes,field", [
    ({"schedule": {"window": {"start": "21:00", "end": "08:00"}}}, "schedule.window"),
    ({"schedule": {"send_rate": 0}}, "schedule.send_rate"),
    ({"schedule": {"launch_at": "2020-01-01T00:00:00Z"}}, "schedule.launch_at"),
    ({"schedule": {"colour": "red"}}, "schedule.colour"),
    ({"colour": "red"}, "colour"),
    ({"status": "RUNNING"}, "status"),
    ({"name": ""}, "name"),
    ({"name": None}, "name"),
    ({"name": "x" * 256}, "name"),
    ({"channel": "fax"}, "channel"),
    ({"skill": "astrology"}, "skill"),
    ({"from_number": "+19995550100"}, "from_number"),
    ({"allow_multi_segment": "yes"}, "allow_multi_segment"),
])
def test_bad_changes_name_the_field_and_change_nothing(
        api: Api, brand: Brand, changes: dict[str, Any], field: str) -> None:
    cid = _draft(api, brand, ANN)
    before = _get(api, brand, cid)

    status, answer = _patch(api, brand, cid, changes)

    assert status == 400, answer
    assert answer["error"]["code"] == "VALIDATION_ERROR"
    assert field in [d["field"] for d in answer["error"]["details"]], answer
    assert _get(api, brand, cid) == before


def test_a_window_ending_before_the_stored_start_is_refused(api: Api, brand: Brand) -> None:
    cid = _draft(api, brand, schedule={"window": {"start": "09:00", "end": "21:00"}})
    status, answer = _patch(api, brand, cid, {"schedule": {"window": {"end": "08:00"}}})
    assert status == 400 and answer["error"]["details"] == [{
        "field": "schedule.window",
        "message": "the window's start must be before its end (same local day)"}]


def test_a_body_that_changes_nothing_or_is_not_json_is_refused(api: Api, brand: Brand) -> None:
    cid = _draft(api, brand)
    status, answer = _patch(api, brand, cid, {})
    assert status == 400 and "changes nothing" in answer["error"]["message"]
    status, answer = api.call("PATCH", f"/campaigns/{cid}", brand, body="{oops")
    assert status == 400 and answer["error"]["code"] == "INVALID_JSON"
    status, answer = _patch(api, brand, cid, ["name"])
    assert status == 400 and answer["error"]["code"] == "INVALID_JSON"
    # the merge-patch media type is understood too
    status, answer = api.call("PATCH", f"/campaigns/{cid}", brand, body='{"name": "Renamed"}',
                              content_type="application/merge-patch+json")
    assert status == 200 and answer["name"] == "Renamed"


def test_only_a_draft_can_be_changed(api: Api, brand: Brand) -> None:
    launched = _draft(api, brand, ANN)
    assert _launch(api, brand, launched)[0] == 200
    cancelled = _draft(api, brand)
    assert api.call("POST", f"/campaigns/{cancelled}/cancel", brand)[0] == 200
    for cid, status_now in ((launched, "RUNNING"), (cancelled, "CANCELLED")):
        status, answer = _patch(api, brand, cid, {"name": "Too late"})
        assert status == 409, answer
        assert answer["error"]["code"] == "CONFLICT"
        assert answer["error"]["message"] == (
            f"only a DRAFT campaign can be changed; this one is {status_now}")
        assert _get(api, brand, cid)["name"] == "Winter sale"


def test_a_launch_between_reading_and_writing_the_draft_wins(
        api: Api, brand: Brand, monkeypatch: pytest.MonkeyPatch) -> None:
    cid = _draft(api, brand, ANN)
    stale = campaign_store.get(brand.brand_id, cid)  # what the patch read, before the launch
    assert _launch(api, brand, cid)[0] == 200
    monkeypatch.setattr(campaign_store, "get", lambda *_args, **_kw: stale)

    status, answer = _patch(api, brand, cid, {"text": "Changed under the launch"})

    assert status == 409 and "launched or cancelled meanwhile" in answer["error"]["message"]
    monkeypatch.undo()
    campaign = _get(api, brand, cid)
    assert (campaign["status"], campaign["text"], campaign["recipients"]) == (
        "RUNNING", campaign_body()["text"], 1)


def test_another_brands_draft_is_not_found_and_agents_may_not_change_drafts(
        api: Api, brand: Brand, other_brand: Brand) -> None:
    cid = _draft(api, brand)
    status, answer = _patch(api, other_brand, cid, {"name": "Mine now"})
    assert status == 404 and answer["error"]["code"] == "NOT_FOUND"
    for role in ("agent", "agent_manager"):
        status, answer = _patch(api, brand, cid, {"name": "Agent's"}, role=role)
        assert status == 403 and answer["error"]["code"] == "FORBIDDEN"
    assert _get(api, brand, cid)["name"] == "Winter sale"
