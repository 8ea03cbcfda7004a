"""Events to the brand's own systems (issue 16.5, 16.6): a brand registers an endpoint, a
campaign names a status_callback_url; the message.* events of the messages table's stream and
the opt-out events reach a real HTTP server, signed (HMAC-SHA256 over timestamp and body), with
an event id to dedupe; the same events go to the brand's EventBridge bus; a delivery failing
for the retry window is kept as a dead letter, listed and redelivered through the API."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.conftest import Api, Brand, campaign_body
from tests.service.inbound.conftest import pump_stream


class Receiver:
    """A brand's system: records every POST; answers `status`."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append((self.path, dict(self.headers.items()), body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self, path: str) -> list[dict[str, Any]]:
        return [json.loads(body) for p, _, body in self.received if p == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.server.shutdown()


def drain_webhooks(rounds: int = 50) -> list[str]:
    """Deliver the webhooks queue to its handler until empty (at most `rounds` batches), as
    Lambda would."""
    from app import app
    from chalicelib import aws
    from chalicelib.config import get_settings
    from local.pumps import LambdaContext, invoke

    sqs, url = aws.client("sqs"), get_settings().webhook_queue_url
    ids: list[str] = []
    for _ in range(rounds):
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                    WaitTimeSeconds=0).get("Messages") or []
        if not batch:
            return ids
        event = {"Records": [{"messageId": m["MessageId"], "body": m["Body"],
                              "receiptHandle": m["ReceiptHandle"], "attributes": {},
                              "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                              "eventSourceARN": "arn", "awsRegion": "us-east-1"} for m in batch]}
        answer = invoke(app, "deliver_events", event, LambdaContext("deliver_events"))
        assert answer["batchItemFailures"] == []
        for m in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            ids.append(json.loads(m["Body"])["event"]["id"])
    return ids


def _verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    from chalicelib.services import webhooks_out

    return webhooks_out.verify(secret, headers["X-Proactive-Signature"], body)


def test_message_and_opt_out_events_reach_the_brand_signed(
        api: Api, brand: Brand, sandbox: Any, receiver: Receiver,
        events_queue: Any) -> None:
    from chalicelib.services import jobs
    from tests.service.test_send_once import _drain_send_queue

    status, endpoint = api.call("POST", "/event-endpoints", brand, role="admin", json_body={
        "url": receiver.url + "/hook", "events": ["message.sent", "consumer.opted_out",
                                                  "campaign.completed"]})
    assert status == 201 and endpoint["secret"].startswith("whsec_"), endpoint
    listed = api.call("GET", "/event-endpoints", brand, role="admin")[1]["items"]
    assert [e["id"] for e in listed] == [endpoint["id"]] and "secret" not in listed[0]
    status, body = api.call("POST", "/event-endpoints", brand, role="admin", json_body={
        "url": "http://crm.example.com/hook", "events": ["message.sent"]})
    assert status == 400 and body["error"]["details"][0]["field"] == "url", body

    status, campaign = api.call("POST", "/campaigns", brand, json_body=campaign_body(
        status_callback_url=receiver.url + "/callback",
        schedule={"send_rate": 50, "window": {"start": "00:00", "end": "24:00"}}))
    assert status == 201 and campaign["status_callback_secret"], campaign
    cid = campaign["id"]
    status, body = api.call("POST", f"/campaigns/{cid}/recipients", brand, json_body={
        "recipients": [{"phone": "+12125550101", "external_id": "crm-1"},
                       {"phone": "+12125550102", "external_id": "crm-2"}]})
    assert status == 200, body
    assert api.call("POST", f"/campaigns/{cid}/launch", brand,
                    json_body={"consent": True})[0] == 200
    jobs.launch(brand.brand_id, cid)
    _drain_send_queue(cid)
    pump_stream("publish_message_events")
    drain_webhooks()

    hooked = receiver.events("/hook")
    assert sorted((e["type"], e["data"]["external_id"]) for e in hooked) == [
        ("message.sent", "crm-1"), ("message.sent", "crm-2")]
    called = receiver.events("/callback")
    assert {e["id"] for e in called} == {e["id"] for e in hooked}  # one event, one id
    for path, headers, raw in receiver.received:
        secret = endpoint["secret"] if path == "/hook" else campaign["status_callback_secret"]
        assert _verify(secret, headers, raw), path
        assert not _verify("whsec_other", headers, raw)
        assert headers["X-Proactive-Event-Id"] == json.loads(raw)["id"]
    # the same events on the brand's bus
    bus = [e for e in events_queue() if e["detail-type"] == "message.sent"]
    assert sorted(e["detail"]["data"]["external_id"] for e in bus) == ["crm-1", "crm-2"]
    # a redelivered stream batch gives the same event ids (the receiver dedupes on them)
    pump_stream("publish_message_events")
    assert set(drain_webhooks()) <= {e["id"] for e in hooked}

    # the campaign completed: announced once, after the counters
    receiver.received.clear()
    pump_stream("aggregate_metrics")
    pump_stream("aggregate_metrics")
    drain_webhooks()
    [completed] = receiver.events("/hook")
    assert completed["type"] == "campaign.completed", completed
    assert completed["data"]["campaign_id"] == cid and completed["data"]["counts"]["SENT"] == 2
    assert receiver.events("/callback") == []  # status callbacks carry message.* events only

    # opt-outs: an admin's
    receiver.received.clear()
    assert api.call("PUT", "/optouts/%2B12125550199", brand, role="admin")[0] == 201
    drain_webhooks()
    [opted] = receiver.events("/hook")
    assert opted["type"] == "consumer.opted_out" and opted["data"]["phone"] == "+12125550199"


def test_a_failing_endpoint_is_retried_then_kept_and_redelivered(
        api: Api, brand: Brand, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    status, endpoint = api.call("POST", "/event-endpoints", brand, role="admin", json_body={
        "url": receiver.url + "/hook", "events": ["consumer.opted_out"]})
    assert status == 201
    receiver.status = 500
    monkeypatch.setenv("WEBHOOK_RETRY_BASE_SECONDS", "0")  # retried at once, for the test
    assert api.call("PUT", "/optouts/%2B12125550199", brand, role="admin")[0] == 201
    drain_webhooks(rounds=1)  # failed: queued again (with no delay, WEBHOOK_RETRY_BASE_SECONDS)
    monkeypatch.setenv("WEBHOOK_RETRY_WINDOW_SECONDS", "0")  # then the window is over
    drain_webhooks()
    assert len(receiver.received) == 2  # the first try and one retry
    status, failed = api.call("GET", "/event-deliveries/failed", brand, role="admin")
    assert status == 200 and len(failed["items"]) == 1, failed
    dead = failed["items"][0]
    assert dead["attempts"] == 2 and dead["last_error"] == "HTTP 500"
    assert dead["event"]["type"] == "consumer.opted_out"

    receiver.status = 200
    monkeypatch.setenv("WEBHOOK_RETRY_WINDOW_SECONDS", "86400")
    status, body = api.call("POST", f"/event-deliveries/failed/{dead['id']}/redeliver", brand,
                            role="admin")
    assert status == 200, body
    drain_webhooks()
    assert receiver.received[-1][2] and json.loads(receiver.received[-1][2])["id"] == \
        dead["event"]["id"]
    assert api.call("GET", "/event-deliveries/failed", brand, role="admin")[1]["items"] == []
    assert api.call("POST", f"/event-deliveries/failed/{dead['id']}/redeliver", brand,
                    role="admin")[0] == 404
    assert api.call("DELETE", f"/event-endpoints/{endpoint['id']}", brand,
                    role="admin")[0] == 200
