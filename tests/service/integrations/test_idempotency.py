"""Idempotency-Key on the API's writes (issue 16.3): a retry gets the first answer and runs
nothing again; the same key with another request is refused; a retry while the first request
runs never runs it twice. (Few tests, each covering several cases: the `aws` fixture's reset is
the cost of a service test.)"""

from __future__ import annotations

import time

from chalicelib.store import idempotency as stored_keys
from tests.conftest import Api, Brand, campaign_body

KEY = {"Idempotency-Key": "3f1c6f0e-8a4e-4a57-9d55-7b0c8f1d2e10"}


def test_a_retried_create_returns_the_first_answer_and_creates_once(
        api: Api, brand: Brand, other_brand: Brand) -> None:
    first = api.call("POST", "/campaigns", brand, json_body=campaign_body(), headers=KEY)
    again = api.call("POST", "/campaigns", brand, json_body=campaign_body(), headers=KEY)
    assert first[0] == 201 and again == first
    status, listing = api.call("GET", "/campaigns", brand)
    assert [c["id"] for c in listing["items"]] == [first[1]["id"]]
    # the replay says so
    replay = api.client.http.post("/campaigns", body=__import__("json").dumps(campaign_body()),
                                  headers={"Content-Type": "application/json", **brand.auth(),
                                           **KEY})
    assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    # without the header every request runs
    assert api.call("POST", "/campaigns", brand, json_body=campaign_body())[1]["id"] != \
        first[1]["id"]
    # the same key with another body: 422 naming the header
    status, body = api.call("POST", "/campaigns", brand, json_body=campaign_body(name="Other"),
                            headers=KEY)
    assert status == 422 and body["error"]["code"] == "IDEMPOTENCY_KEY_REUSED", body
    assert body["error"]["details"][0]["field"] == "Idempotency-Key"
    # keys are per brand
    theirs = api.call("POST", "/campaigns", other_brand,
                      json_body=campaign_body(from_number=other_brand.sms_number), headers=KEY)
    assert theirs[0] == 201 and theirs[1]["id"] != first[1]["id"]
    # kept 24 h (the table's TTL attribute)
    item = stored_keys.IdempotencyKeyModel.get(f"{brand.brand_id}#{KEY['Idempotency-Key']}")
    assert 23.9 * 3600 < item.expires_at - time.time() <= 24 * 3600
    # a key that is not one: 400 naming the header
    for bad in ("x" * 256, "has space"):
        status, body = api.call("POST", "/campaigns", brand, json_body=campaign_body(),
                                headers={"Idempotency-Key": bad})
        assert status == 400 and body["error"]["details"][0]["field"] == "Idempotency-Key"


def test_a_retry_while_the_first_request_runs_gets_409_and_runs_nothing(api: Api,
                                                                        brand: Brand) -> None:
    from chalicelib.services import idempotency

    cid = api.call("POST", "/campaigns", brand, json_body=campaign_body())[1]["id"]
    path = f"/campaigns/{cid}/cancel"
    # The first request holds the key (taken, not answered yet), as while it runs.
    fingerprint = idempotency.fingerprint("POST", path, "application/json", b"")
    assert stored_keys.take(brand.brand_id, KEY["Idempotency-Key"], fingerprint, time.time(),
                            60) is None
    status, answer = api.call("POST", path, brand, headers=KEY, body=b"")
    assert status == 409 and answer["error"]["code"] == "IDEMPOTENCY_KEY_IN_USE", answer
    assert api.call("GET", f"/campaigns/{cid}", brand)[1]["status"] == "DRAFT"


def test_recipients_launch_cancel_and_templates_replay(api: Api, brand: Brand) -> None:
    cid = api.call("POST", "/campaigns", brand, json_body=campaign_body())[1]["id"]
    # a conflict (409) is not kept: the retry runs once the campaign is ready
    status, _ = api.call("POST", f"/campaigns/{cid}/launch", brand,
                         json_body={"consent": True}, headers={"Idempotency-Key": "launch-1"})
    assert status == 409  # no recipients yet
    added = [api.call("POST", f"/campaigns/{cid}/recipients", brand, body="+12125550101",
                      content_type="text/plain", headers={"Idempotency-Key": "add-1"})
             for _ in range(2)]
    assert added[0][0] == 200 and added[0] == added[1]
    launched = [api.call("POST", f"/campaigns/{cid}/launch", brand,
                         json_body={"consent": True}, headers={"Idempotency-Key": "launch-1"})
                for _ in range(2)]
    assert launched[0][0] == 200 and launched[1] == launched[0]  # not 409 "not a DRAFT"
    cancelled = [api.call("POST", f"/campaigns/{cid}/cancel", brand,
                          headers={"Idempotency-Key": "cancel-1"}) for _ in range(2)]
    assert cancelled[0][0] == 200 and cancelled[1] == cancelled[0]
    template = {"name": "order_ready", "language": "en_US", "category": "UTILITY",
                "body": "Hi {{1}}"}
    answers = [api.call("POST", "/templates", brand, role="admin", json_body=template,
                        headers={"Idempotency-Key": "tpl-1"}) for _ in range(2)]
    assert answers[0][0] == 201 and answers[1] == answers[0]  # not 409 "already exists"
