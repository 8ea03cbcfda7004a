"""A brand from onboarding to its first sent message, on the local stack over HTTP: ops onboard
it, its admin sets it up and hands out a campaign-manager key, the manager sends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local.local_stack import LocalStack
from ops import onboard
from tests.e2e.conftest import Http, sandbox_messages


def test_an_onboarded_brand_is_set_up_by_its_admin_and_sends(
        stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given ops onboard the brand against the running stack (the sandbox token is in moto's SSM)
    info = tmp_path / "stack.json"
    info.write_text(json.dumps({"moto_url": stack.moto_url}))
    assert onboard.main(["--stack-info", str(info), "--brand-id", "umbrella", "--name",
                         "Umbrella Corp", "--time-zone", "America/New_York"]) == 0
    admin = Http(stack.api_url, json.loads(capsys.readouterr().out)["admin_key"]["secret"])

    # When its admin adds a number and a skill and creates a campaign-manager key
    status, number = admin("POST", "/numbers", {"number": "+1 212 555 0180", "channel": "sms",
                                                "rate": 10})
    assert status == 201, number
    assert admin("POST", "/skills", {"id": "care", "name": "Customer care"})[0] == 201
    status, key = admin("POST", "/keys", {"role": "campaign_manager", "label": "Ann"})
    assert status == 201
    manager = Http(stack.api_url, key["secret"])
    # (campaign managers read the brand's settings, e.g. its opt-out text, but cannot change them)
    assert manager("GET", "/brand")[0] == 200
    assert manager("PUT", "/brand", {"help_text": "Reply HELP for help."})[0] == 403

    # Then the manager can run a campaign from that number to that skill
    status, campaign = manager("POST", "/campaigns", {
        "name": "Welcome", "channel": "sms", "from_number": "+12125550180", "skill": "care",
        "text": "Welcome to Umbrella", "schedule": {"window": {"start": "00:00",
                                                                "end": "24:00"}}})
    assert status == 201, campaign
    cid = campaign["id"]
    assert manager("POST", f"/campaigns/{cid}/recipients", "+1 212 555 0181",
                   content_type="text/plain")[0] == 200
    assert manager("POST", f"/campaigns/{cid}/launch", {"consent": True})[0] == 200
    assert stack.wait_for(
        lambda: manager("GET", f"/campaigns/{cid}")[1]["counts"].get("SENT") == 1, timeout=60)
    sent = [m for m in sandbox_messages(stack) if m["to"] == "+12125550181"]
    assert len(sent) == 1 and sent[0]["from_"] == "+12125550180"

    # and once the admin revokes the key, the manager is out at once
    assert admin("DELETE", f"/keys/{key['id']}")[0] == 200
    assert manager("GET", "/campaigns")[0] == 401
    _, log = admin("GET", "/audit")
    assert [e["action"] for e in log["items"]] == [
        "key.revoke", "key.create", "skill.create", "number.add", "brand.onboard"]
