"""Issue 17 on the local stack, over HTTP: a client written against LivePerson's Proactive
Messaging 2.0 API, unchanged but for the host name, gets a token, creates a campaign for 100
consumers (3 invalid, 1 duplicate), reads the status until every accepted consumer is DELIVERED
or SCHEDULED, and reads the campaign report; the same campaign is in our own API and analytics."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

from local.local_stack import LocalStack
from tests.e2e.conftest import Http


class ProactiveClient:
    """What a LivePerson integration does (the public facts only): nothing of this product."""

    def __init__(self, domain: str, account_id: str, client_id: str, secret: str) -> None:
        self.domain, self.account = domain, account_id
        self.client_id, self.secret = client_id, secret
        self.token = ""

    def _send(self, method: str, url: str, data: bytes | None,
              headers: dict[str, str]) -> tuple[int, Any]:
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def authenticate(self) -> None:
        status, answer = self._send(
            "POST", f"{self.domain}/sentinel/api/account/{self.account}/app/token?v=1.0"
            "&grant_type=client_credentials",
            urlencode({"client_id": self.client_id, "client_secret": self.secret}).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 200 and answer["token_type"] == "Bearer", answer
        self.token = answer["access_token"]

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        return self._send(method, self.domain + path, data, {
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})


def test_a_liveperson_client_runs_a_campaign_unchanged_but_for_the_host(
        stack: LocalStack, demo: dict[str, Any], http: Http) -> None:
    admin = demo["keys"]["admin"]
    # An admin enables the API (Settings) and keeps the SMS template the campaign uses
    status, client = http("POST", "/api-client", {}, key=admin)
    assert status == 201, client
    status, _ = http("POST", "/sms-templates", {"name": "Renewal",
                                                 "text": "Hi {{1}}, your plan renews soon"},
                     key=admin)
    assert status == 201
    lp = ProactiveClient(stack.api_url, demo["brand_id"], client["client_id"],
                         client["client_secret"])
    lp.authenticate()

    good = [f"+1212555{1000 + n:04d}" for n in range(96)]
    consumers: list[dict[str, Any]] = [
        {"consumerContent": {"sms": phone}, "variables": {"1": f"Consumer {n}"}}
        for n, phone in enumerate(good)]
    consumers += [{"consumerContent": {"sms": bad}, "variables": {"1": "x"}}
                  for bad in ("+1212", "12345678901234567", "+1 000 000 0000")]
    consumers.append({"consumerContent": {"sms": good[0]}, "variables": {"1": "again"}})
    status, created = lp.call("POST", f"/api/v2/account/{demo['brand_id']}/campaign", {
        "campaignName": "Renewals December", "skill": "support", "templateId": "1234567890",
        "outboundNumber": demo["numbers"]["sms"][0].lstrip("+"), "consent": True,
        "consumers": consumers,
        "schedulingMetrics": {"windows": [
            {"startTime": {"hour": 0, "minute": 0}, "endTime": {"hour": 24, "minute": 0},
             "day": day} for day in ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY",
                                     "SATURDAY", "SUNDAY")]}})
    assert status == 200, created
    assert len(created["acceptedConsumers"]) == 96
    assert sorted(f["errorMessage"] for f in created["failedConsumers"]) == [
        "DUPLICATE_NUMBER", "INVALID_NUMBER", "INVALID_NUMBER", "INVALID_NUMBER"]
    cid = created["proactiveCampaignId"]
    accepted = {c["id"] for c in created["acceptedConsumers"]}

    def settled() -> bool:
        status, answer = lp.call("GET", f"/api/v2/account/{demo['brand_id']}/campaign/{cid}/"
                                 "conversations")
        assert status == 200, answer
        states = {c["id"]: c["status"] for c in answer["conversations"]}
        return set(states) == accepted and set(states.values()) <= {"DELIVERED", "SCHEDULED"}

    assert stack.wait_for(settled, timeout=180)
    status, report = lp.call("GET", f"/api/account/{demo['brand_id']}/app/prmsg/campaigns/"
                             f"{cid}/?offset=0&limit=100")
    assert status == 200 and report["page"]["count"] == 96 and report["page"]["nextOffset"] == -1
    assert {r["id"] for r in report["consumersReport"]} == accepted

    # The same campaign in our own API and analytics
    status, ours = http("GET", f"/campaigns/{cid}")
    assert status == 200 and ours["name"] == "Renewals December" and ours["recipients"] == 96
    status, figures = http("GET", f"/campaigns/{cid}/analytics")
    assert status == 200 and figures["campaign"]["id"] == cid
    assert figures["campaign"]["recipients"] == 96
