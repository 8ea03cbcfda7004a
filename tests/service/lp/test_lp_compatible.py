"""The LivePerson Proactive 2.0 compatible API (issue 17) in process (moto over HTTP): token,
create, status, report and analytics as an unmodified client sends them, and every error case of
the facts answered in LivePerson's shape, never a 500. Answers are checked against the OpenAPI
document's models (the contract fuzz run leaves these paths out: they take an AppJWT)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.lp import responses as lp_r
from chalicelib.lp import tokens
from chalicelib.services import onboarding
from local import pumps
from tests import awscalls
from tests.conftest import Api, Brand

FORM = "application/x-www-form-urlencoded"


def call(api: Api, method: str, path: str, body: Any = None, bearer: str | None = None,
         content_type: str = "application/json") -> tuple[int, Any]:
    headers = {"Content-Type": content_type}
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    raw = body if isinstance(body, str | bytes) or body is None else json.dumps(body)
    with awscalls.acting_as(pumps.API_FUNCTION):
        response = getattr(api.client.http, method.lower())(path, headers=headers,
                                                            body=raw or b"")
    return response.status_code, json.loads(response.body) if response.body else None


def enable(api: Api, brand: Brand) -> dict[str, Any]:
    status, client = api.call("POST", "/api-client", brand, role="admin")
    assert status == 201, client
    return dict(lp_r.ApiClientCreated.model_validate(client).model_dump())


def get_token(api: Api, brand: Brand, client: dict[str, Any]) -> str:
    status, answer = call(api, "POST", f"/sentinel/api/account/{brand.brand_id}/app/token"
                          "?v=1.0&grant_type=client_credentials",
                          urlencode({"client_id": client["client_id"],
                                     "client_secret": client["client_secret"]}),
                          content_type=FORM)
    assert status == 200, answer
    assert lp_r.LpToken.model_validate(answer).token_type == "Bearer"
    return str(answer["access_token"])


def sms_template(api: Api, brand: Brand, text: str = "Hi {{1}}, your plan renews soon") -> str:
    status, template = api.call("POST", "/sms-templates", brand, role="admin",
                                json_body={"name": "Renewal", "text": text})
    assert status == 201, template
    return str(template["id"])


def body(people: list[dict[str, Any]], **changes: Any) -> dict[str, Any]:
    return {"campaignName": "Renewal", "skill": "Support", "templateId": "1234567890",
            "outboundNumber": "12125550100", "consent": True, "consumers": people,
            **changes}


def sms(phone: str, name: str = "Ann") -> dict[str, Any]:
    return {"consumerContent": {"sms": phone}, "variables": {"1": name}}


@pytest.fixture
def lp(api: Api, brand: Brand) -> str:
    client = enable(api, brand)
    sms_template(api, brand)
    return get_token(api, brand, client)


def test_a_client_creates_a_campaign_reads_its_status_report_and_analytics(
        api: Api, brand: Brand, lp: str) -> None:
    consumers = [
        sms("+12125550101", "Ann"),
        {"consumerCountryCode": "1", "consumerPhoneNumber": "2125550102",
         "variables": {"1": "Bob"}},  # the old shape
        sms("+1212"),  # too short
        sms("+12125550101", "Ann again"),  # duplicate
        {"consumerContent": {"wa": "+12125550103"}, "variables": {"1": "Cy"}},  # no SMS number
        {"consumerContent": {"sms": "+12125550104"}, "variables": {"1": "D", "2": "x"}},
        {"consumerContent": {"sms": "+12125550105"}, "variables": {"1": 5}},
        {"consumerContent": {"sms": "+12125550106"}},
    ]
    status, created = call(api, "POST", f"/api/v2/account/{brand.brand_id}/campaign",
                           body(consumers), lp)
    assert status == 200, created
    lp_r.LpCampaignCreated.model_validate(created)
    assert [c["phoneNumber"] for c in created["acceptedConsumers"]] == ["+12125550101",
                                                                        "+12125550102"]
    assert [f["errorMessage"] for f in created["failedConsumers"]] == [
        "MISSING_CONSUMER_INFORMATION==SMS", "TOO_MANY_VARIABLES", "VARIABLE_NOT_STRING=1",
        "INSUFFICIENT_VARIABLES", "INVALID_NUMBER", "DUPLICATE_NUMBER"]
    duplicate = created["failedConsumers"][-1]
    assert duplicate["consumerContent"] == {"sms": "+12125550101"}
    assert duplicate["countryCode"] == "US" and duplicate["phone"] == "+12125550101"
    cid = created["proactiveCampaignId"]
    assert created["leCampaignId"] == cid and created["leEngagementId"] == "support"

    # Our own API shows the same campaign, launched by the API client with its consent
    status, ours = api.call("GET", f"/campaigns/{cid}", brand)
    assert status == 200 and ours["status"] == "RUNNING" and ours["recipients"] == 2
    assert ours["channel"] == "sms" and ours["skill"] == "support"
    assert ours["consent"]["by_label"].startswith("API client ")
    status, page = api.call("GET", f"/campaigns/{cid}/messages", brand)
    assert {m["text"] for m in page["items"]} == {
        "Hi Ann, your plan renews soon\nReply STOP to opt out",
        "Hi Bob, your plan renews soon\nReply STOP to opt out"}

    status, conversations = call(
        api, "GET", f"/api/v2/account/{brand.brand_id}/campaign/{cid}/conversations", bearer=lp)
    assert status == 200, conversations
    lp_r.LpConversations.model_validate(conversations)
    assert conversations["campaignStatus"] == "IN_PROGRESS"
    assert sorted(c["id"] for c in conversations["conversations"]) == sorted(
        c["id"] for c in created["acceptedConsumers"])
    assert {c["status"] for c in conversations["conversations"]} <= {"NOT_SENT", "SCHEDULED"}

    reporting = f"/api/account/{brand.brand_id}/app/prmsg"
    status, report = call(api, "GET", f"{reporting}/campaigns/{cid}/?offset=0&limit=1",
                          bearer=lp)
    assert status == 200, report
    lp_r.LpCampaignReport.model_validate(report)
    assert report["page"] == {"count": 1, "previousOffset": -1, "currentOffset": 0,
                              "nextOffset": 1}
    status, figures = call(api, "GET", f"{reporting}/campaigns/{cid}/analytics/", bearer=lp)
    assert status == 200 and figures["data"][0]["attempted"] == 2, figures
    lp_r.LpAnalytics.model_validate(figures)
    status, account = call(api, "POST", f"{reporting}/analytics/",
                           {"filters": {"channels": ["sms"], "skills": ["Support"]}}, lp)
    assert status == 200, account
    lp_r.LpAnalytics.model_validate(account)

    # A token is for the compatible paths only: our API does not take it
    assert call(api, "GET", "/campaigns", bearer=lp)[0] == 401


def _token_errors(api: Api, brand: Brand, other_brand: Brand,
                  client: dict[str, Any]) -> None:
    path = f"/sentinel/api/account/{brand.brand_id}/app/token?v=1.0"
    # credentials in the query string, as some clients send them
    status, answer = call(api, "POST", path + "&grant_type=client_credentials&" + urlencode(
        {"client_id": client["client_id"], "client_secret": client["client_secret"]}),
        content_type=FORM)
    assert status == 200 and answer["access_token"].count(".") == 2
    for form in ({"client_id": client["client_id"], "client_secret": "lps_wrong"},
                 {"client_id": "someone", "client_secret": client["client_secret"]}, {}):
        status, answer = call(api, "POST", path, urlencode(form), content_type=FORM)
        assert status == 401 and answer["code"] == 0, answer
        lp_r.LpError.model_validate(answer)
    # the right credentials for another account
    status, answer = call(api, "POST", f"/sentinel/api/account/{other_brand.brand_id}/app/"
                          "token", urlencode({"client_id": client["client_id"],
                                              "client_secret": client["client_secret"]}),
                          content_type=FORM)
    assert status == 401


def test_wrong_expired_or_foreign_tokens_and_bad_bodies_never_500(
        api: Api, brand: Brand, other_brand: Brand, lp: str) -> None:
    create = f"/api/v2/account/{brand.brand_id}/campaign"
    # expired: exactly LivePerson's body
    secret_client = enable(api, other_brand)
    old = tokens.issue(other_brand.brand_id, secret_client["client_id"],
                      secret_client["client_secret"], now=1_000_000)["access_token"]
    status, answer = call(api, "POST", f"/api/v2/account/{other_brand.brand_id}/campaign",
                          body([sms("+12125550101")]), old)
    assert (status, answer) == (401, {"code": 0, "message": "jwt expired"})
    # another brand's account id in the path, with this brand's token
    status, answer = call(api, "POST", f"/api/v2/account/{other_brand.brand_id}/campaign",
                          body([sms("+12125550101")]), lp)
    assert status == 401 and "not issued for account" in answer["message"]
    # a forged or garbled token, an API key, no token
    for bearer in (lp[:-4] + "AAAA", "not.a.token", brand.keys["campaign_manager"], None):
        status, answer = call(api, "POST", create, body([sms("+12125550101")]), bearer)
        assert status == 401 and answer["code"] == 0, (bearer, answer)
    # 101 consumers: 413 in the facts' shape
    many = [sms(f"+1212555{n:04d}") for n in range(101)]
    status, answer = call(api, "POST", create, body(many), lp)
    assert status == 413 and answer["code"] == 0 and "100" in answer["message"]
    # missing fields: the whole request refused
    incomplete = body([sms("+12125550101")])
    del incomplete["skill"], incomplete["outboundNumber"]
    status, answer = call(api, "POST", create, incomplete, lp)
    assert status == 400
    assert answer["message"] == "Fields missing in request: skill, outboundNumber"
    lp_r.LpError.model_validate(answer)
    # wrong types, unknown skill, number or template, not JSON: 400 naming the field
    for changes, field in (({"consent": False}, "consent"), ({"consumers": "x"}, "consumers"),
                           ({"skill": "nope"}, "skill"), ({"outboundNumber": "13125550199"},
                                                          "outboundNumber"),
                           ({"templateId": "tpl_nope"}, "templateId"),
                           ({"campaignName": 5}, "campaignName")):
        status, answer = call(api, "POST", create, body([sms("+12125550101")], **changes), lp)
        assert status == 400 and field in answer["fields"], (changes, answer)
    assert call(api, "POST", create, "{", lp)[0] == 400
    # every consumer failing: 400 with the reasons, no campaign
    status, answer = call(api, "POST", create, body([sms("12"), {"consumerContent": {}}]), lp)
    assert status == 400 and len(answer["failedConsumers"]) == 2
    assert api.call("GET", "/campaigns", brand)[1]["items"] == []
    # status of a campaign that is not this account's
    status, answer = call(api, "GET", f"/api/v2/account/{brand.brand_id}/campaign/cmp_nope/"
                          "conversations", bearer=lp)
    assert status == 404 and answer["code"] == 0
    # the token endpoint: wrong credentials, another account's
    _token_errors(api, other_brand, brand, secret_client)
    # over the account's limit: 429 in the facts' shape
    onboarding.set_api_limit(brand.brand_id, 0.1, 2)
    path = f"/api/account/{brand.brand_id}/app/prmsg/analytics"
    answers = [call(api, "GET", path, bearer=lp) for _ in range(4)]
    assert [s for s, _ in answers][-1] == 429
    assert answers[-1][1]["code"] == 0 and "requestTraceId" in answers[-1][1]


def test_rotate_and_revoke_end_the_tokens_and_are_audited(api: Api, brand: Brand,
                                                          lp: str) -> None:
    path = f"/api/account/{brand.brand_id}/app/prmsg/analytics"
    assert call(api, "GET", path, bearer=lp)[0] == 200
    status, rotated = api.call("POST", "/api-client/rotate", brand, role="admin")
    assert status == 200 and rotated["client_secret"]
    assert call(api, "GET", path, bearer=lp)[0] == 401
    fresh = get_token(api, brand, rotated)
    assert call(api, "GET", path, bearer=fresh)[0] == 200
    assert api.call("POST", "/api-client", brand, role="admin")[0] == 409
    status, revoked = api.call("DELETE", "/api-client", brand, role="admin")
    assert status == 200 and revoked["enabled"] is False
    assert call(api, "GET", path, bearer=fresh)[0] == 401
    # campaign managers may not manage the credentials
    assert api.call("POST", "/api-client", brand)[0] == 403
    audit = api.call("GET", "/audit", brand, role="admin")[1]["items"]
    actions = [e["action"] for e in audit if e["action"].startswith("api_client.")]
    assert actions == ["api_client.revoke", "api_client.rotate", "api_client.enable"]
    assert all("secret" not in json.dumps(e).lower().replace("client_secret", "")
               for e in audit)


    _sms_templates(api, brand)


def _sms_templates(api: Api, brand: Brand) -> None:
    """SMS templates beside the WhatsApp ones (the lp fixture made the brand's first)."""
    for template in api.call("GET", "/sms-templates", brand)[1]["items"]:
        api.call("DELETE", f"/sms-templates/{template['id']}", brand, role="admin")
    status, first = api.call("POST", "/sms-templates", brand, role="admin",
                             json_body={"name": "Hello", "text": "Hello {{1}}"})
    assert status == 201 and first["default"] is True and first["variable_count"] == 1
    status, second = api.call("POST", "/sms-templates", brand, role="admin",
                              json_body={"name": "Bye", "text": "Bye {{1}} {{2}}"})
    assert status == 201 and second["default"] is False
    assert api.call("GET", "/sms-templates/1234567890", brand)[1]["id"] == first["id"]
    status, changed = api.call("PATCH", f"/sms-templates/{second['id']}", brand, role="admin",
                               json_body={"default": True, "text": "Bye {{1}}"})
    assert status == 200 and changed["default"] and changed["variable_count"] == 1
    page = api.call("GET", "/sms-templates", brand)[1]
    assert page["default_id"] == second["id"] and len(page["items"]) == 2
    # bad input names the field; campaign managers read but do not change
    status, answer = api.call("POST", "/sms-templates", brand, role="admin",
                              json_body={"name": "Gap", "text": "Hi {{2}}"})
    assert status == 400 and answer["error"]["details"][0]["field"] == "text"
    assert api.call("POST", "/sms-templates", brand, json_body={"name": "x", "text": "y"})[0] \
        == 403
    assert api.call("POST", "/sms-templates", brand, role="admin",
                    json_body={"name": "Hello", "text": "again"})[0] == 409
    status, gone = api.call("DELETE", f"/sms-templates/{first['id']}", brand, role="admin")
    assert status == 200 and gone["deleted"]
    assert api.call("GET", f"/sms-templates/{first['id']}", brand)[0] == 404
