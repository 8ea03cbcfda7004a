"""The campaigns API on moto: auth, brand scoping, and clear 4xx answers for bad input."""

from __future__ import annotations

import pytest

from tests.conftest import Api, Brand, campaign_body


def _create(api: Api, brand: Brand, **overrides: object) -> str:
    status, body = api.call("POST", "/campaigns", brand, json_body=campaign_body(**overrides))
    assert status == 201, body
    return str(body["id"])


def test_campaign_round_trip(api: Api, brand: Brand) -> None:
    cid = _create(api, brand)
    status, body = api.call("POST", f"/campaigns/{cid}/recipients", brand,
                            body="+1 212 555 0101\n+1 212 555 0102, Hi Bo",
                            content_type="text/plain")
    assert status == 200 and body["accepted"] == 2 and body["rejected"] == []
    status, campaign = api.call("GET", f"/campaigns/{cid}", brand)
    assert status == 200
    assert campaign["status"] == "DRAFT" and campaign["recipients"] == 2
    status, listing = api.call("GET", "/campaigns", brand)
    assert [c["id"] for c in listing["items"]] == [cid]


def test_requests_without_a_valid_key_get_401(api: Api, brand: Brand) -> None:
    status, body = api.call("GET", "/campaigns")
    assert status == 401 and body["error"]["code"] == "UNAUTHORIZED"
    api.client.http.get("/campaigns")
    bogus = Brand("acme", {"campaign_manager": "pk_not_a_key"}, brand.sms_number)
    assert api.call("GET", "/campaigns", bogus)[0] == 401


@pytest.mark.parametrize("role", ["agent", "agent_manager"])
def test_agents_cannot_use_any_campaign_route(api: Api, brand: Brand, role: str) -> None:
    cid = _create(api, brand)
    for method, path, body in [
        ("GET", "/campaigns", None), ("POST", "/campaigns", campaign_body()),
        ("GET", f"/campaigns/{cid}", None), ("PATCH", f"/campaigns/{cid}", {"name": "x"}),
        ("GET", f"/campaigns/{cid}/messages", None),
        ("POST", f"/campaigns/{cid}/launch", {"consent": True}),
        ("POST", f"/campaigns/{cid}/cancel", None),
    ]:
        status, answer = api.call(method, path, brand, role=role, json_body=body)
        assert status == 403, (method, path)
        assert answer["error"]["code"] == "FORBIDDEN"


def test_another_brands_campaign_is_not_found(api: Api, brand: Brand,
                                               other_brand: Brand) -> None:
    cid = _create(api, brand)
    for method, path in [("GET", f"/campaigns/{cid}"), ("GET", f"/campaigns/{cid}/messages"),
                         ("POST", f"/campaigns/{cid}/cancel")]:
        assert api.call(method, path, other_brand)[0] == 404
    status, _ = api.call("POST", f"/campaigns/{cid}/recipients", other_brand,
                         body="+12125550101", content_type="text/plain")
    assert status == 404
    assert api.call("GET", "/campaigns", other_brand)[1]["items"] == []
    # nor can it send from the first brand's number
    status, body = api.call("POST", "/campaigns", other_brand, json_body=campaign_body())
    assert status == 400 and body["error"]["details"][0]["field"] == "from_number"


@pytest.mark.parametrize("overrides,field", [
    ({"colour": "red"}, "colour"),
    ({"name": 42}, "name"),
    ({"name": ""}, "name"),
    ({"name": "x" * 256}, "name"),
    ({"channel": "fax"}, "channel"),
    ({"skill": "astrology"}, "skill"),
    ({"from_number": "+19995550100"}, "from_number"),
    ({"schedule": {"send_rate": "fast"}}, "schedule.send_rate"),
    ({"schedule": {"send_rate": 0}}, "schedule.send_rate"),
    ({"schedule": {"window": {"start": "22:00", "end": "08:00"}}}, "schedule.window"),
    ({"schedule": {"window": {"start": "8 am"}}}, "schedule.window.start"),
    ({"schedule": {"launch_at": "2020-01-01T00:00:00Z"}}, "schedule.launch_at"),
])
def test_bad_campaign_input_names_the_field(api: Api, brand: Brand, overrides: dict[str, object],
                                            field: str) -> None:
    status, body = api.call("POST", "/campaigns", brand, json_body=campaign_body(**overrides))
    assert status == 400, body
    assert field in [d["field"] for d in body["error"]["details"]], body


def test_missing_name_and_malformed_json(api: Api, brand: Brand) -> None:
    body = campaign_body()
    del body["name"]
    status, answer = api.call("POST", "/campaigns", brand, json_body=body)
    assert status == 400 and answer["error"]["details"] == [
        {"field": "name", "message": "Field required"}]
    status, answer = api.call("POST", "/campaigns", brand, body="{oops")
    assert status == 400 and answer["error"]["code"] == "INVALID_JSON"


def test_launch_needs_recipients_and_consent(api: Api, brand: Brand) -> None:
    cid = _create(api, brand)
    status, body = api.call("POST", f"/campaigns/{cid}/launch", brand, json_body={"consent": True})
    assert status == 409 and body["error"]["code"] == "NO_RECIPIENTS"
    api.call("POST", f"/campaigns/{cid}/recipients", brand, body="+12125550101",
             content_type="text/plain")
    status, body = api.call("POST", f"/campaigns/{cid}/launch", brand, json_body={})
    assert status == 400 and body["error"]["details"][0]["field"] == "consent"
    status, body = api.call("POST", f"/campaigns/{cid}/launch", brand,
                            json_body={"consent": False})
    assert status == 400 and "consent" in body["error"]["message"]
    status, body = api.call("GET", f"/campaigns/{cid}", brand)
    assert body["status"] == "DRAFT"


def test_a_list_with_errors_cannot_be_launched(api: Api, brand: Brand) -> None:
    cid = _create(api, brand)
    status, body = api.call("POST", f"/campaigns/{cid}/recipients", brand,
                            body="+12125550101\nnope", content_type="text/plain")
    assert body["accepted"] == 1 and body["rejected"][0]["line"] == 2
    status, body = api.call("POST", f"/campaigns/{cid}/launch", brand, json_body={"consent": True})
    assert status == 409 and body["error"]["code"] == "RECIPIENT_ERRORS"


def test_typed_list_over_100_lines_is_refused(api: Api, brand: Brand) -> None:
    cid = _create(api, brand)
    lines = "\n".join(f"+1212555{i:04d}" for i in range(101))
    status, body = api.call("POST", f"/campaigns/{cid}/recipients", brand, body=lines,
                            content_type="text/plain")
    assert status == 413 and body["error"]["code"] == "TOO_MANY_LINES"


def test_bad_query_parameters(api: Api, brand: Brand) -> None:
    assert api.call("GET", "/campaigns?limit=abc", brand)[0] == 400
    assert api.call("GET", "/campaigns?cursor=%%%", brand)[0] == 400
    cid = _create(api, brand)
    status, body = api.call("GET", f"/campaigns/{cid}/messages?status=LOST", brand)
    assert status == 400 and body["error"]["details"][0]["field"] == "status"


def test_openapi_document_lists_the_routes(api: Api) -> None:
    status, doc = api.call("GET", "/openapi.json")
    assert status == 200
    assert "/campaigns/{campaign_id}/launch" in doc["paths"]
    patch = doc["paths"]["/campaigns/{campaign_id}"]["patch"]
    assert patch["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CampaignPatchIn"}
    assert "409" in patch["responses"]
    edit = doc["components"]["schemas"]["CampaignPatchIn"]
    assert "required" not in edit and "schedule" in edit["properties"]
