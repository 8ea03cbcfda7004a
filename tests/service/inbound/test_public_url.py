"""On AWS nothing sets a public URL by hand: webhooks are checked on the URL the gateway called,
as API Gateway delivers the request (its Host header and path, the stage included), and the send
consumer passes the deployed API's URL as the status callback."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib import config
from chalicelib.messaging import webhooks
from chalicelib.store import optouts
from local.pumps import LambdaContext
from local.sandbox import SandboxServer
from tests.conftest import Api, Brand
from tests.service.inbound.conftest import TOKEN, Twilio, launch_and_send

CONSUMER = "+12125550162"
EXECUTE_API = "abc123.execute-api.us-east-1.amazonaws.com"


@pytest.fixture
def no_url_variable(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment of the deployed API function: no URL variable at all."""
    for name in ("PUBLIC_BASE_URL", "WEBHOOK_BASE_URL", "API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    config.reset_settings()


def proxy_event(path: str, form: dict[str, str], signature: str, host: str = EXECUTE_API,
                stage: str = "api", base_path: str | None = None,
                body: str | None = None) -> dict[str, Any]:
    """An API Gateway (REST, Lambda proxy) event as API Gateway builds it: on the execute-api
    host the stage is the first segment of requestContext.path; on a custom domain the path is
    the base path mapping's (none by default), the stage only in requestContext.stage."""
    public_path = (f"/{stage}" if base_path is None else base_path) + path
    headers = {"Host": host, "Content-Type": "application/x-www-form-urlencoded",
               "User-Agent": "TwilioProxy/1.1", "X-Forwarded-Proto": "https",
               "X-Forwarded-Port": "443", "X-Twilio-Signature": signature}
    return {
        "resource": path, "path": path, "httpMethod": "POST",
        "headers": headers, "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": None, "stageVariables": None,
        "requestContext": {
            "resourcePath": path, "httpMethod": "POST", "path": public_path, "stage": stage,
            "domainName": host, "domainPrefix": host.split(".")[0], "apiId": "abc123",
            "accountId": "123456789012", "protocol": "HTTP/1.1", "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "54.172.60.1", "userAgent": "TwilioProxy/1.1"}},
        "body": body if body is not None else urlencode(form), "isBase64Encoded": False,
    }


def invoke(event: dict[str, Any]) -> tuple[int, Any]:
    """The API function as Lambda runs it: the chalice app called with the event."""
    from app import app

    answer = app(event, LambdaContext("api_handler"))
    text = answer.get("body") or ""
    if answer.get("isBase64Encoded"):
        text = base64.b64decode(text).decode()
    try:
        return int(answer["statusCode"]), json.loads(text)
    except ValueError:
        return int(answer["statusCode"]), text


def test_signed_stop_through_api_gateway_opts_out_with_no_url_variable(
        no_url_variable: None, brand: Brand) -> None:
    form = Twilio.inbound_form(CONSUMER, brand.sms_number, "STOP")
    url = f"https://{EXECUTE_API}/api{webhooks.INBOUND_PATH}"
    status, body = invoke(proxy_event(webhooks.INBOUND_PATH, form,
                                      webhooks.sign(TOKEN, url, form)))
    assert status == 200, body
    assert optouts.opted_out(brand.brand_id, [CONSUMER]) == {CONSUMER}


def test_tampered_request_through_api_gateway_is_refused(no_url_variable: None,
                                                         brand: Brand) -> None:
    form = Twilio.inbound_form(CONSUMER, brand.sms_number, "Hello")
    url = f"https://{EXECUTE_API}/api{webhooks.INBOUND_PATH}"
    signature = webhooks.sign(TOKEN, url, form)
    status, body = invoke(proxy_event(webhooks.INBOUND_PATH, form, signature,
                                      body=urlencode({**form, "Body": "STOP"})))
    assert status == 403 and body["error"]["code"] == "SIGNATURE_INVALID"
    assert optouts.opted_out(brand.brand_id, [CONSUMER]) == set()


def test_a_signature_for_the_url_without_the_stage_is_refused(no_url_variable: None,
                                                              brand: Brand) -> None:
    form = Twilio.inbound_form(CONSUMER, brand.sms_number, "STOP")
    wrong = f"https://{EXECUTE_API}{webhooks.INBOUND_PATH}"
    status, _ = invoke(proxy_event(webhooks.INBOUND_PATH, form, webhooks.sign(TOKEN, wrong, form)))
    assert status == 403
    assert optouts.opted_out(brand.brand_id, [CONSUMER]) == set()


def test_custom_domain_without_stage_prefix_is_verified(no_url_variable: None,
                                                       brand: Brand) -> None:
    form = Twilio.inbound_form(CONSUMER, brand.sms_number, "STOP")
    url = f"https://sms.brand.example{webhooks.INBOUND_PATH}"
    status, body = invoke(proxy_event(webhooks.INBOUND_PATH, form,
                                      webhooks.sign(TOKEN, url, form),
                                      host="sms.brand.example", base_path=""))
    assert status == 200, body
    assert optouts.opted_out(brand.brand_id, [CONSUMER]) == {CONSUMER}


def test_status_callback_through_api_gateway_is_accepted(no_url_variable: None,
                                                         brand: Brand) -> None:
    sid = "SM" + uuid.uuid4().hex
    form = {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32,
            "MessageStatus": "delivered", "SmsStatus": "delivered",
            "From": brand.sms_number, "To": CONSUMER, "ApiVersion": "2010-04-01"}
    url = f"https://{EXECUTE_API}/api{webhooks.STATUS_PATH}"
    assert invoke(proxy_event(webhooks.STATUS_PATH, form,
                              webhooks.sign(TOKEN, url, form)))[0] == 200
    assert invoke(proxy_event(webhooks.STATUS_PATH, form,
                              webhooks.sign(TOKEN, url + "x", form)))[0] == 403


def test_send_consumer_passes_the_deployed_api_url_as_status_callback(
        no_url_variable: None, api: Api, brand: Brand, sandbox: SandboxServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # What the template gives the send consumer (and only it): the REST API's stage URL.
    monkeypatch.setenv("API_BASE_URL", f"https://{EXECUTE_API}/api/")
    config.reset_settings()
    launch_and_send(api, brand, ["+12125550163"])
    [sent] = sandbox.sandbox.snapshot()
    assert sent["status_callback"] == f"https://{EXECUTE_API}/api{webhooks.STATUS_PATH}"


def test_public_base_url_overrides_the_request_url(no_url_variable: None, brand: Brand,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://sms.brand.example")
    config.reset_settings()
    form = Twilio.inbound_form(CONSUMER, brand.sms_number, "STOP")
    custom = f"https://sms.brand.example{webhooks.INBOUND_PATH}"
    as_called = f"https://{EXECUTE_API}/api{webhooks.INBOUND_PATH}"
    assert invoke(proxy_event(webhooks.INBOUND_PATH, form,
                              webhooks.sign(TOKEN, as_called, form)))[0] == 403
    assert invoke(proxy_event(webhooks.INBOUND_PATH, form,
                              webhooks.sign(TOKEN, custom, form)))[0] == 200
