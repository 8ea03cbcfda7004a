"""An integrator on the local stack, over HTTP (issue 16.3-16.6): an idempotent create, JSON
recipients with external ids appended in two requests, and the signed events that reach the
brand's own HTTP server (a registered endpoint and the campaign's status_callback_url), checked
with the README's 10-line receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from local.local_stack import LocalStack
from tests.e2e.conftest import Http

PHONES = {"+12125550161": "crm-1", "+12125550162": "crm-2", "+12125550163": "crm-3"}


# The README's receiver ("API" section), as an integrator copies it.
def verified(secret: str, header: str, body: bytes) -> bool:
    parts = dict(p.split("=", 1) for p in header.split(","))
    t = parts.get("t", "")
    if not t.isdigit() or abs(time.time() - int(t)) > 300:  # 5-minute replay window
        return False
    expected = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


class Receiver:
    """The brand's system: keeps every POST (path, headers, raw body), answers 200."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.received.append((self.path, dict(self.headers.items()), body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, name="receiver", daemon=True).start()

    def deliveries(self, path: str) -> list[tuple[dict[str, str], bytes]]:
        with self.lock:
            return [(headers, body) for p, headers, body in self.received if p == path]

    def events(self, path: str) -> dict[str, dict[str, Any]]:
        """The events received on `path`, deduplicated on their id."""
        return {e["id"]: e for e in (json.loads(body) for _, body in self.deliveries(path))}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _request(stack: LocalStack, key: str, method: str, path: str, body: Any,
             headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(
        stack.api_url + path, data=json.dumps(body).encode(), method=method,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}",
                 **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers.items()), json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers.items()), json.loads(err.read())


def _sandbox(stack: LocalStack, path: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(stack.sandbox.url + path, data=json.dumps(body).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return dict(json.loads(response.read()))


def test_an_integrator_creates_once_sends_to_json_recipients_and_receives_signed_events(
        stack: LocalStack, demo: dict[str, Any], http: Http, receiver: Receiver) -> None:
    number = demo["numbers"]["sms"][0]
    admin = demo["keys"]["admin"]
    # The carrier reports every message delivered (the sandbox's signed status callbacks)
    _sandbox(stack, "/sandbox/callbacks", {"mode": "delivered"})

    # An admin registers the brand's endpoint for every event type
    status, endpoint = http("POST", "/event-endpoints", {
        "url": receiver.url + "/hook", "events": [
            "message.sent", "message.delivered", "message.failed", "message.responded",
            "consumer.opted_out", "consumer.opted_in", "campaign.completed"]}, key=admin)
    assert status == 201 and endpoint["secret"].startswith("whsec_"), endpoint

    # A campaign manager creates a campaign with an Idempotency-Key, and retries it
    create = {"name": "Integrator", "channel": "sms", "from_number": number, "skill": "sales",
              "text": "Your order is on its way",
              "status_callback_url": receiver.url + "/callback",
              "schedule": {"send_rate": 10, "window": {"start": "00:00", "end": "24:00"}}}
    key = {"Idempotency-Key": "create-integrator-1"}
    first = _request(stack, demo["keys"]["campaign_manager"], "POST", "/campaigns", create, key)
    retry = _request(stack, demo["keys"]["campaign_manager"], "POST", "/campaigns", create, key)
    assert first[0] == 201 and first[2]["status_callback_secret"], first
    assert retry[0] == 201 and retry[2] == first[2], retry
    assert retry[1].get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first[1]
    campaign = first[2]
    cid, callback_secret = campaign["id"], campaign["status_callback_secret"]
    listed = http("GET", "/campaigns")[1]["items"]
    assert [c["id"] for c in listed] == [cid], listed

    # adds 3 JSON recipients with their CRM ids in two requests (the second appends), launches
    recipients = [{"phone": phone, "external_id": ext} for phone, ext in PHONES.items()]
    status, parsed = http("POST", f"/campaigns/{cid}/recipients",
                          {"recipients": recipients[:2]})
    assert status == 200 and parsed["accepted"] == 2 and parsed["recipients"] == 2, parsed
    status, parsed = http("POST", f"/campaigns/{cid}/recipients",
                          {"recipients": recipients[2:]})
    assert status == 200 and parsed["accepted"] == 1 and parsed["recipients"] == 3, parsed
    status, launched = http("POST", f"/campaigns/{cid}/launch", {"consent": True})
    assert status == 200 and launched["status"] == "RUNNING", launched

    # Then the endpoint gets message.sent and message.delivered for every recipient, with its
    # external id, and campaign.completed
    expected = {(kind, ext) for ext in PHONES.values()
                for kind in ("message.sent", "message.delivered")}

    def message_events(path: str) -> set[tuple[str, str]]:
        return {(e["type"], e["data"]["external_id"]) for e in receiver.events(path).values()
                if e["type"].startswith("message.")}

    def all_arrived() -> bool:
        completed = [e for e in receiver.events("/hook").values()
                     if e["type"] == "campaign.completed"]
        return message_events("/hook") == expected and message_events(
            "/callback") == expected and len(completed) == 1

    assert stack.wait_for(all_arrived, timeout=30), (
        message_events("/hook"), message_events("/callback"),
        http("GET", f"/campaigns/{cid}/messages?limit=10")[1])
    hooked = receiver.events("/hook")
    # one id per message status: every redelivery of it carried the same id (the receiver's
    # dedupe), and nothing else was delivered
    per_status = Counter((e["type"], e["data"]["external_id"]) for e in hooked.values()
                         if e["type"].startswith("message."))
    assert set(per_status.values()) == {1} and set(per_status) == expected, per_status
    for event in hooked.values():
        assert event["brand_id"] == demo["brand_id"]
        if event["type"].startswith("message."):
            assert event["data"]["campaign_id"] == cid
            assert PHONES[event["data"]["phone"]] == event["data"]["external_id"]
    # the status callback carries the same message events, same ids, and nothing else
    called = receiver.events("/callback")
    assert set(called) == {i for i, e in hooked.items() if e["type"].startswith("message.")}
    assert all(called[i] == hooked[i] for i in called)
    [completed] = [e for e in hooked.values() if e["type"] == "campaign.completed"]
    assert completed["data"]["campaign_id"] == cid and completed["data"]["recipients"] == 3

    # When a consumer answers STOP
    answer = _sandbox(stack, "/sandbox/reply", {"from": "+12125550161", "to": number,
                                                "body": "STOP"})
    assert answer["webhook_status"] == 200, answer

    # Then the endpoint gets consumer.opted_out (and the campaign's callback no consumer event)
    def opted_out() -> list[dict[str, Any]]:
        return [e for e in receiver.events("/hook").values()
                if e["type"] == "consumer.opted_out"]

    assert stack.wait_for(opted_out, timeout=15), receiver.events("/hook")
    [stop] = opted_out()
    assert stop["data"]["phone"] == "+12125550161" and stop["data"]["source"] == "keyword"

    # and every delivery verifies with its secret (README receiver), a wrong secret never does
    for path, secret in (("/hook", endpoint["secret"]), ("/callback", callback_secret)):
        for headers, raw in receiver.deliveries(path):
            event = json.loads(raw)
            assert verified(secret, headers["X-Proactive-Signature"], raw), (path, event)
            assert not verified("whsec_other", headers["X-Proactive-Signature"], raw)
            assert headers["X-Proactive-Event-Id"] == event["id"]
            assert headers["X-Proactive-Event-Type"] == event["type"]
    assert all(json.loads(raw)["type"].startswith("message.")
               for _, raw in receiver.deliveries("/callback"))
    # campaign.completed was delivered once, whatever the retries of the streams
    types = Counter(json.loads(raw)["type"] for _, raw in receiver.deliveries("/hook"))
    assert types["campaign.completed"] == 1, types
