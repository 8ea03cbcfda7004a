"""JSON recipients (issue 16.4): POST /campaigns/{id}/recipients with application/json appends
to the campaign's list, with the typed list's checks keyed by index, up to 1,000 a request;
external_id is kept on the message and shows in message reads and the export."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api, Brand, campaign_body


def _campaign(api: Api, brand: Brand) -> str:
    status, body = api.call("POST", "/campaigns", brand, json_body=campaign_body())
    assert status == 201, body
    return str(body["id"])


def _append(api: Api, brand: Brand, cid: str, recipients: list[dict[str, Any]]
            ) -> tuple[int, Any]:
    return api.call("POST", f"/campaigns/{cid}/recipients", brand,
                    json_body={"recipients": recipients})


def test_json_recipients_append_and_keep_their_external_id(api: Api, brand: Brand) -> None:
    cid = _campaign(api, brand)
    status, body = _append(api, brand, cid, [
        {"phone": "+1 212 555 0101", "external_id": "crm-1"},
        {"phone": "+12125550102", "text": "Hi Bo, 20% off", "external_id": "crm-2"}])
    assert status == 200 and body["accepted"] == 2 and body["recipients"] == 2, body
    status, body = _append(api, brand, cid, [{"phone": "+12125550103", "external_id": "crm-3"}])
    assert status == 200 and body["recipients"] == 3, body
    assert api.call("GET", f"/campaigns/{cid}", brand)[1]["recipients"] == 3

    # a line with errors: nothing stored, the errors keyed by index (the typed list's checks)
    status, body = _append(api, brand, cid, [
        {"phone": "+12125550104"}, {"phone": "12"}, {"phone": "+12125550101"}])
    assert status == 422 and body["error"]["code"] == "RECIPIENTS_REJECTED", body
    by_index = {d["index"]: d["code"] for d in body["error"]["details"]}
    assert by_index == {1: "INVALID_NUMBER", 2: "DUPLICATE_NUMBER"}
    assert body["error"]["details"][0]["field"] == "recipients.1"
    assert api.call("GET", f"/campaigns/{cid}", brand)[1]["recipients"] == 3

    status, page = api.call("GET", f"/campaigns/{cid}/messages", brand)
    assert {m["phone"]: m["external_id"] for m in page["items"]} == {
        "+12125550101": "crm-1", "+12125550102": "crm-2", "+12125550103": "crm-3"}
    texts = {m["phone"]: m["text"] for m in page["items"]}
    assert texts["+12125550102"].startswith("Hi Bo, 20% off")
    export = api.client.http.get(f"/campaigns/{cid}/messages.csv", headers=brand.auth())
    lines = export.body.decode("utf-8-sig").splitlines()
    assert lines[0].endswith(",external_id") and any(ln.endswith(",crm-2") for ln in lines)

    # the list launches as any other
    status, body = api.call("POST", f"/campaigns/{cid}/launch", brand,
                            json_body={"consent": True})
    assert status == 200, body
    status, body = _append(api, brand, cid, [{"phone": "+12125550105"}])
    assert status == 409, body  # no longer a DRAFT


def test_a_replacing_list_replaces_appended_recipients(api: Api, brand: Brand) -> None:
    cid = _campaign(api, brand)
    status, _ = api.call("POST", f"/campaigns/{cid}/recipients", brand,
                         body="+12125550101\n+12125550102", content_type="text/plain")
    assert status == 200
    assert _append(api, brand, cid, [{"phone": "+12125550103"}])[1]["recipients"] == 3
    status, _ = api.call("POST", f"/campaigns/{cid}/recipients", brand,
                         body="+12125550109", content_type="text/plain")
    assert status == 200
    page = api.call("GET", f"/campaigns/{cid}/messages", brand)[1]["items"]
    assert [m["phone"] for m in page] == ["+12125550109"]
    assert api.call("GET", f"/campaigns/{cid}", brand)[1]["recipients"] == 1


def test_json_recipients_limits_and_bad_fields(api: Api, brand: Brand) -> None:
    cid = _campaign(api, brand)
    many = [{"phone": f"+1212555{n:04d}"} for n in range(1001)]
    status, body = _append(api, brand, cid, many)
    assert status == 400 and body["error"]["code"] == "TOO_MANY_RECIPIENTS", body
    assert body["error"]["details"][0]["field"] == "recipients"
    status, body = _append(api, brand, cid, [{"phone": 12125550101}])
    assert status == 400 and body["error"]["details"][0]["field"] == "recipients.0.phone", body
    status, body = _append(api, brand, cid, [{"phone": "+12125550101", "colour": "red"}])
    assert status == 400 and "colour" in body["error"]["details"][0]["field"], body
    status, body = _append(api, brand, cid, [{"phone": "+12125550101", "variables": {"1": "x"}}])
    assert status == 422 and body["error"]["details"][0]["code"] == "TOO_MANY_VARIABLES", body
    assert api.call("GET", f"/campaigns/{cid}", brand)[1]["recipients"] == 0
