"""Fixtures for replies, opt-outs and conversations: the gateway's side of the webhooks (signed
like Twilio), a campaign that was really sent through the sandbox, and an SQS queue subscribed
to the conversation events with an EventBridge rule."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.messaging import webhooks
from local.pumps import StreamPump
from tests.conftest import Api, Brand, campaign_body

PUBLIC = "https://api.example.test/api"  # PUBLIC_BASE_URL of the `aws` fixture
TOKEN = "test-token"  # TWILIO_AUTH_TOKEN of the `aws` fixture


class Twilio:
    """Plays the gateway: posts form-encoded, signed webhooks to the app (chalice test client)."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def post(self, path: str, form: dict[str, str], *, token: str = TOKEN,
             signed_url: str | None = None, signature: str | None = "sign",
             body: bytes | None = None) -> tuple[int, Any]:
        url = signed_url or PUBLIC + path
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        if signature == "sign":
            headers[webhooks.SIGNATURE_HEADER] = webhooks.sign(token, url, form)
        elif signature is not None:
            headers[webhooks.SIGNATURE_HEADER] = signature
        raw = body if body is not None else urlencode(form).encode()
        response = self.api.client.http.post(path, headers=headers, body=raw)
        text = response.body.decode() if isinstance(response.body, bytes) else response.body
        try:
            return response.status_code, json.loads(text) if text else None
        except ValueError:
            return response.status_code, text

    @staticmethod
    def inbound_form(from_: str, to: str, body: str, sid: str | None = None) -> dict[str, str]:
        sid = sid or "SM" + uuid.uuid4().hex
        return {"MessageSid": sid, "SmsMessageSid": sid, "SmsSid": sid,
                "AccountSid": "AC" + "0" * 32, "From": from_, "To": to, "Body": body,
                "NumMedia": "0", "NumSegments": "1", "SmsStatus": "received",
                "ApiVersion": "2010-04-01"}

    def reply(self, from_: str, to: str, body: str, sid: str | None = None,
              **kwargs: Any) -> tuple[int, Any]:
        return self.post(webhooks.INBOUND_PATH, self.inbound_form(from_, to, body, sid),
                         **kwargs)

    def status(self, sid: str, status: str, error_code: str | None = None,
               **kwargs: Any) -> tuple[int, Any]:
        form = {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32,
                "MessageStatus": status, "SmsStatus": status, "ApiVersion": "2010-04-01",
                "From": "+12125550100", "To": "+12125550101"}
        if error_code:
            form["ErrorCode"] = error_code
        return self.post(webhooks.STATUS_PATH, form, **kwargs)


@pytest.fixture
def twilio(api: Api) -> Twilio:
    return Twilio(api)


def launch_and_send(api: Api, brand: Brand, phones: list[str], **overrides: Any) -> str:
    """A campaign to `phones`, launched and sent through the sandbox; returns its id."""
    from chalicelib.store import messages

    cid = launch_and_drain(api, brand, phones, **overrides)
    assert {m.status for m in messages.iter_campaign(cid, consistent=True)} == {"SENT"}
    return cid


def launch_and_drain(api: Api, brand: Brand, phones: list[str], **overrides: Any) -> str:
    """A campaign to `phones`, launched and its send queue drained (messages end SENT, SKIPPED,
    ...); returns its id."""
    from chalicelib.services import jobs
    from tests.service.test_send_once import _drain_send_queue

    schedule = {"send_rate": 50, "window": {"start": "00:00", "end": "24:00"},
                **overrides.pop("schedule", {})}
    status, body = api.call("POST", "/campaigns", brand, json_body=campaign_body(
        schedule=schedule, **overrides))
    assert status == 201, body
    cid = str(body["id"])
    status, body = api.call("POST", f"/campaigns/{cid}/recipients", brand,
                            body="\n".join(phones), content_type="text/plain")
    assert status == 200 and body["accepted"] == len(phones), body
    status, body = api.call("POST", f"/campaigns/{cid}/launch", brand,
                            json_body={"consent": True})
    assert status == 200, body
    jobs.launch(brand.brand_id, cid)
    _drain_send_queue(cid)
    return cid


def drain_inbound_queue() -> list[dict[str, Any]]:
    """Deliver the inbound queue to its handler once, as Lambda would: each message received is
    deleted unless the handler reports it as failed; a failed one is made visible again at once
    (on AWS: after the visibility timeout). Returns the handler's answers, one per batch."""
    from app import app
    from chalicelib import aws
    from chalicelib.config import get_settings
    from local.pumps import LambdaContext

    sqs, url = aws.client("sqs"), get_settings().inbound_queue_url
    answers: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        batch = got.get("Messages") or []
        if not batch:
            return answers
        event = {"Records": [{"messageId": m["MessageId"], "body": m["Body"],
                              "receiptHandle": m["ReceiptHandle"], "attributes": {},
                              "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                              "eventSourceARN": "arn", "awsRegion": "us-east-1"} for m in batch]}
        answer = app.handler_map["apply_inbound"](event, LambdaContext("apply_inbound"))
        answers.append(answer)
        failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
        for m in batch:
            if m["MessageId"] in failed:
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"],
                                              VisibilityTimeout=0)
            else:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        if failed:
            return answers  # the rest waits for the next delivery, as on AWS


def pump_stream(handler: str = "match_status_callbacks") -> None:
    """Deliver the messages table's stream to `handler` once, like the Lambda event source."""
    import boto3
    from chalice.app import DynamoDBEventConfig

    from app import app
    from chalicelib.config import get_settings, messages_stream_arn

    settings = get_settings()
    streams = boto3.client("dynamodbstreams", endpoint_url=settings.aws_endpoint_url,
                           region_name=settings.region)
    source = next(s for s in app.event_sources
                  if isinstance(s, DynamoDBEventConfig) and s.name == handler)
    pump = StreamPump(app, handler, source, streams, messages_stream_arn())
    while pump.poll_once():
        pass


@pytest.fixture
def events_queue(aws: dict[str, str]) -> Iterator[Any]:
    """An SQS queue receiving every "proactive" event of the bus through a rule (what a contact
    centre would set up); yields a function returning the events received so far."""
    from chalicelib import aws as aws_clients

    bus = aws["EVENT_BUS_NAME"]
    sqs, events = aws_clients.client("sqs"), aws_clients.client("events")
    url = sqs.create_queue(QueueName="contact-centre")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"]
    events.put_rule(Name="to-contact-centre", EventBusName=bus,
                    EventPattern=json.dumps({"source": ["proactive"]}))
    events.put_targets(Rule="to-contact-centre", EventBusName=bus,
                       Targets=[{"Id": "queue", "Arn": arn}])
    received: list[dict[str, Any]] = []

    def read() -> list[dict[str, Any]]:
        while True:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            batch = got.get("Messages") or []
            if not batch:
                return received
            for m in batch:
                received.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    yield read
