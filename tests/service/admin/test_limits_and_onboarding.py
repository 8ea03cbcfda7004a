"""API rate limits per brand (429 + Retry-After), request size limits (413), onboarding, and
secrets read by reference from SSM."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from chalicelib import secret_store
from chalicelib.messaging import gateway
from chalicelib.services import onboarding
from local.local_resources import put_local_secrets
from ops import onboard
from tests.conftest import Api, Brand, campaign_body

# One request per 10 s, bursts of 3: a handful of quick requests exhausts it whatever the pace.
SLOW_RATE, SMALL_BURST = 0.1, 3


def _get(api: Api, brand: Brand, path: str = "/campaigns") -> tuple[int, dict[str, str]]:
    response = api.client.http.get(path, headers=brand.auth())
    return response.status_code, response.headers


def test_over_its_limit_a_brand_gets_429_with_retry_after(api: Api, brand: Brand) -> None:
    onboarding.set_api_limit(brand.brand_id, SLOW_RATE, SMALL_BURST)
    answers = [_get(api, brand) for _ in range(SMALL_BURST + 2)]
    assert [status for status, _ in answers] == [200] * SMALL_BURST + [429, 429]
    retry_after = int(answers[-1][1]["Retry-After"])
    assert 1 <= retry_after <= 10
    status, body = api.call("GET", "/campaigns", brand)
    assert status == 429 and body["error"]["code"] == "TOO_MANY_REQUESTS"
    assert "0.1 requests/s (burst 3)" in body["error"]["message"]


def test_one_brands_burst_does_not_slow_another_brand(api: Api, brand: Brand,
                                                     other_brand: Brand) -> None:
    onboarding.set_api_limit(brand.brand_id, SLOW_RATE, SMALL_BURST)
    onboarding.set_api_limit(other_brand.brand_id, SLOW_RATE, SMALL_BURST)
    statuses = [_get(api, brand)[0] for _ in range(SMALL_BURST + 3)]
    assert statuses.count(429) == 3
    others = [_get(api, other_brand)[0] for _ in range(SMALL_BURST)]
    assert others == [200] * SMALL_BURST


def test_the_limit_is_per_brand_configurable_and_shown_to_admins(api: Api, brand: Brand) -> None:
    _, before = api.call("GET", "/brand", brand, role="admin")
    assert before["api_limit"] == {"rate": 1000.0, "burst": 1000}  # the tests' stage default
    onboarding.set_api_limit(brand.brand_id, 25, 50)
    _, after = api.call("GET", "/brand", brand, role="admin")
    assert after["api_limit"] == {"rate": 25.0, "burst": 50}
    status, answer = api.call("PUT", "/brand", brand, role="admin",
                              json_body={"api_limit": {"rate": 1000}})
    assert status == 400 and "api_limit" in answer["error"]["message"]  # not the admin's call
    _, log = api.call("GET", "/audit", brand, role="admin")
    assert log["items"][0]["action"] == "brand.api_limit"
    assert log["items"][0]["actor"]["role"] == "ops"


def test_a_json_body_over_one_megabyte_gets_a_clear_413(api: Api, brand: Brand) -> None:
    huge = json.dumps(campaign_body(name="x" * (1024 * 1024)))
    status, answer = api.call("POST", "/campaigns", brand, body=huge)
    assert status == 413
    assert answer["error"]["code"] == "BODY_TOO_LARGE"
    assert "at most 1048576 bytes" in answer["error"]["message"]
    status, answer = api.call("POST", "/campaigns", brand,
                              json_body=campaign_body(name="x" * 300))
    assert status == 400 and "name" in answer["error"]["message"]


def test_onboarding_creates_the_brand_and_its_first_admin_key_once(
        api: Api, aws: dict[str, str], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    stack_info = tmp_path / "stack.json"
    stack_info.write_text(json.dumps({"moto_url": aws["AWS_ENDPOINT_URL"]}))
    args = ["--stack-info", str(stack_info), "--brand-id", "initech", "--name", "Initech",
            "--time-zone", "America/Chicago"]
    assert onboard.main(args) == 0
    created = json.loads(capsys.readouterr().out)
    admin = Brand("initech", {"admin": created["admin_key"]["secret"]}, "")

    status, settings = api.call("GET", "/brand", admin, role="admin")
    assert status == 200
    assert settings["name"] == "Initech" and settings["time_zone"] == "America/Chicago"
    assert settings["opt_out_text"] == "Reply STOP to opt out"
    _, audit = api.call("GET", "/audit", admin, role="admin")
    assert [e["action"] for e in audit["items"]] == ["brand.onboard"]
    assert audit["items"][0]["after"]["gateway_secret_ref"] == "/proactive/dev/twilio/auth-token"
    assert created["admin_key"]["secret"] not in json.dumps(audit)

    assert onboard.main(args) == 1
    assert "already exists" in capsys.readouterr().err
    assert onboard.main(["--stack-info", str(stack_info), "--brand-id", "hooli", "--name",
                         "Hooli", "--time-zone", "Central"]) == 1
    assert "time_zone" in capsys.readouterr().err


def test_onboarding_refuses_a_gateway_secret_that_is_missing_or_out_of_reach(
        aws: dict[str, str]) -> None:
    assert onboard.check_secret_ref("/proactive/dev/twilio/auth-token", "dev") is None
    missing = onboard.check_secret_ref("/proactive/dev/brands/acme/twilio", "dev")
    assert missing is not None and "cannot find" in missing
    elsewhere = onboard.check_secret_ref("/other-app/token", "dev")
    assert elsewhere is not None and "/proactive/dev/" in elsewhere
    boto3.client("ssm").put_parameter(Name="/proactive/dev/plain", Value="x", Type="String")
    plain = onboard.check_secret_ref("/proactive/dev/plain", "dev")
    assert plain is not None and "SecureString" in plain


def test_gateway_credentials_are_read_from_ssm_by_reference(aws: dict[str, str]) -> None:
    assert aws["TWILIO_AUTH_TOKEN_PARAM"] == "/proactive/dev/twilio/auth-token"
    assert secret_store.gateway_credentials() == ("AC" + "0" * 32, "test-token")
    put_local_secrets(aws["AWS_ENDPOINT_URL"], {
        "/proactive/dev/brands/acme/twilio": json.dumps(
            {"account_sid": "AC" + "1" * 32, "auth_token": "acme-token"})})
    assert secret_store.gateway_credentials("/proactive/dev/brands/acme/twilio") == (
        "AC" + "1" * 32, "acme-token")
    brand_gateway = gateway.get_gateway("/proactive/dev/brands/acme/twilio")
    assert brand_gateway.client().client.username == "AC" + "1" * 32
    assert brand_gateway.client().client.password == "acme-token"
