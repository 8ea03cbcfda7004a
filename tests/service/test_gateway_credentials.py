"""Gateway credentials that change (a rotated token) or differ per brand (a brand's own account,
`gateway_secret_ref`). The sandbox plays Twilio's accounts: each has its own auth token, and a
request with another token gets 401 like Twilio's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.messaging import webhooks
from chalicelib.services import onboarding
from chalicelib.store import optouts
from chalicelib.store.models import BrandModel, MessageModel
from local.local_resources import put_local_secrets
from local.sandbox import SandboxServer
from ops import onboard
from tests import awscalls
from tests.conftest import Api, Brand
from tests.send_faults import after_send
from tests.service.inbound.conftest import Twilio, launch_and_send

STAGE_ACCOUNT = "AC" + "0" * 32  # TWILIO_ACCOUNT_SID of the `aws` fixture
ACME_ACCOUNT, GLOBEX_ACCOUNT = "AC" + "1" * 32, "AC" + "2" * 32
CONSUMER = "+12125550171"


@pytest.fixture
def accounts(sandbox: SandboxServer) -> Iterator[dict[str, str]]:
    """The sandbox's accounts and their tokens (forgotten after the test)."""
    tokens = {STAGE_ACCOUNT: "test-token"}
    sandbox.sandbox.set_accounts(tokens)
    yield tokens
    sandbox.sandbox.set_accounts({})


def own_account(aws: dict[str, str], brand: Brand, account_sid: str, token: str,
                secrets_manager: bool = False) -> None:
    """Give `brand` its own gateway account, as onboarding does (--gateway-secret-ref): an SSM
    SecureString, or a Secrets Manager secret (by ARN)."""
    value = json.dumps({"account_sid": account_sid, "auth_token": token})
    if secrets_manager:
        ref = boto3.client("secretsmanager").create_secret(
            Name=f"proactive/dev/brands/{brand.brand_id}/twilio", SecretString=value)["ARN"]
    else:
        ref = f"/proactive/dev/brands/{brand.brand_id}/twilio"
        put_local_secrets(aws["AWS_ENDPOINT_URL"], {ref: value})
    assert onboard.check_secret_ref(ref, "dev") is None
    BrandModel(brand.brand_id).update(actions=[BrandModel.gateway_secret_ref.set(ref)])


def sent_by_account(sandbox: SandboxServer) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for message in sandbox.sandbox.snapshot():
        out.setdefault(message["account_sid"], set()).add(message["to"])
    return out


def test_a_token_rotated_mid_campaign_fails_no_message(
        aws: dict[str, str], api: Api, brand: Brand, sandbox: SandboxServer,
        accounts: dict[str, str]) -> None:
    phones = [f"+1212555014{n}" for n in range(6)]
    rotated: list[str] = []

    def rotate(campaign_id: str, phone: str) -> None:
        # After the first send: Twilio's token changes, and ops store the new one.
        if not rotated:
            rotated.append(phone)
            sandbox.sandbox.set_accounts({STAGE_ACCOUNT: "rotated-token"})
            with awscalls.acting_as(None):  # the operator, not the send consumer, stores it
                put_local_secrets(aws["AWS_ENDPOINT_URL"],
                                  {aws["TWILIO_AUTH_TOKEN_PARAM"]: "rotated-token"})

    try:
        with after_send(rotate):
            launch_and_send(api, brand, phones)  # asserts every message ended SENT
    except AssertionError:
        failed = {m.phone: (m.status, m.error_code, m.reason)
                  for m in MessageModel.scan() if m.status != "SENT"}
        raise AssertionError(f"not sent: {failed}") from None
    assert rotated
    assert sent_by_account(sandbox) == {STAGE_ACCOUNT: set(phones)}


def test_two_brands_on_two_accounts_use_only_their_own(
        aws: dict[str, str], api: Api, brand: Brand, other_brand: Brand,
        sandbox: SandboxServer, accounts: dict[str, str]) -> None:
    accounts.update({ACME_ACCOUNT: "acme-token", GLOBEX_ACCOUNT: "globex-token"})
    sandbox.sandbox.set_accounts(accounts)
    own_account(aws, brand, ACME_ACCOUNT, "acme-token")
    own_account(aws, other_brand, GLOBEX_ACCOUNT, "globex-token", secrets_manager=True)

    launch_and_send(api, brand, ["+12125550172"])
    launch_and_send(api, other_brand, ["+14155550172"], from_number=other_brand.sms_number)
    assert sent_by_account(sandbox) == {ACME_ACCOUNT: {"+12125550172"},
                                        GLOBEX_ACCOUNT: {"+14155550172"}}

    # WhatsApp templates go to the brand's own account (the sandbox server lives for the whole
    # session: only the content made here counts).
    before = set(sandbox.sandbox.contents.items)
    status, body = api.call("POST", "/templates", other_brand, "admin", json_body={
        "name": "order_update", "language": "en", "category": "UTILITY",
        "body": "Your order {{1}} ships today"})
    assert status == 201, body
    contents = [c for sid, c in sandbox.sandbox.contents.items.items() if sid not in before]
    assert [c["account_sid"] for c in contents] == [GLOBEX_ACCOUNT]

    # Webhooks to a brand's number are checked with that brand's account token only.
    twilio = Twilio(api)
    assert twilio.reply(CONSUMER, other_brand.sms_number, "STOP", token="acme-token")[0] == 403
    assert twilio.reply(CONSUMER, other_brand.sms_number, "STOP", token="test-token")[0] == 403
    assert optouts.opted_out(other_brand.brand_id, [CONSUMER]) == set()
    assert twilio.reply(CONSUMER, other_brand.sms_number, "STOP",
                        token="globex-token")[0] == 200
    assert optouts.opted_out(other_brand.brand_id, [CONSUMER]) == {CONSUMER}
    # The keyword's confirmation went from the brand's number on the brand's account.
    confirmations = [m for m in sandbox.sandbox.snapshot() if m["to"] == CONSUMER]
    assert [m["account_sid"] for m in confirmations] == [GLOBEX_ACCOUNT]
    status_form = {"MessageSid": "SM" + "9" * 32, "MessageStatus": "delivered",
                   "AccountSid": ACME_ACCOUNT, "From": brand.sms_number, "To": "+12125550172"}
    assert twilio.post(webhooks.STATUS_PATH, status_form, token="globex-token")[0] == 403
    assert twilio.post(webhooks.STATUS_PATH, status_form, token="acme-token")[0] == 200


def test_the_sandbox_refuses_a_wrong_token_like_twilio(sandbox: SandboxServer,
                                                       accounts: dict[str, str]) -> None:
    import base64
    import urllib.error
    import urllib.request

    def post(token: str) -> tuple[int, Any]:
        auth = base64.b64encode(f"{STAGE_ACCOUNT}:{token}".encode()).decode()
        request = urllib.request.Request(
            f"{sandbox.url}/2010-04-01/Accounts/{STAGE_ACCOUNT}/Messages.json",
            data=b"To=%2B12125550173&From=%2B12125550100&Body=hi", method="POST",
            headers={"Authorization": f"Basic {auth}",
                     "Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    status, body = post("wrong")
    assert status == 401 and body["code"] == 20003
    assert post("test-token")[0] == 201



@pytest.mark.parametrize("ref", [
    "/other-app/twilio",
    "arn:aws:ssm:us-east-1:123456789012:parameter/other-app/twilio",
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:other-app/twilio-AbCdEf",
    "secretsmanager:other-app/twilio",
])
def test_onboarding_refuses_credentials_the_functions_cannot_read(aws: dict[str, str],
                                                                  ref: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        onboarding.onboard(onboarding.NewBrand(brand_id="initech", name="Initech",
                                               time_zone="America/Chicago",
                                               gateway_secret_ref=ref))
    assert refused.value.details[0]["field"] == "gateway_secret_ref"
    assert "proactive/dev/" in refused.value.message
    assert onboard.check_secret_ref(ref, "dev") == refused.value.details[0]["message"]


def test_onboarding_refuses_a_brand_secret_without_its_account(aws: dict[str, str]) -> None:
    ref = "/proactive/dev/brands/initech/twilio"
    put_local_secrets(aws["AWS_ENDPOINT_URL"], {ref: "just-a-token"})
    problem = onboard.check_secret_ref(ref, "dev")
    assert problem is not None and "account_sid" in problem
