"""Status callbacks: SENT -> DELIVERED / UNDELIVERED / FAILED with the error code, whatever order
they come in, even before the send was recorded; never backwards."""

from __future__ import annotations

import uuid

from chalicelib.store import messages
from tests.conftest import Api, Brand
from tests.service.inbound.conftest import Twilio, launch_and_send, pump_stream

ANN, BOB = "+12125550181", "+12125550182"


def _sent(api: Api, brand: Brand, phones: list[str]) -> tuple[str, dict[str, str]]:
    cid = launch_and_send(api, brand, phones)
    sids = {m.phone: str(m.sid) for m in messages.iter_campaign(cid, consistent=True)}
    return cid, sids


def _state(cid: str, phone: str) -> tuple[str, str | None]:
    message = messages.get(cid, phone)
    assert message is not None
    return message.status, message.error_code


def test_delivered_and_undelivered_with_the_error_code(api: Api, twilio: Twilio,
                                                      brand: Brand) -> None:
    cid, sids = _sent(api, brand, [ANN, BOB])
    assert twilio.status(sids[ANN], "sent")[0] == 200
    assert twilio.status(sids[ANN], "delivered")[0] == 200
    assert twilio.status(sids[BOB], "undelivered", "30007")[0] == 200
    assert _state(cid, ANN) == ("DELIVERED", None)
    status, error = _state(cid, BOB)
    assert (status, error) == ("UNDELIVERED", "30007")
    bob = messages.get(cid, BOB)
    assert bob is not None and "filtered by the carrier" in (bob.reason or "")
    delivered = messages.get(cid, ANN)
    assert delivered is not None and delivered.delivered_at


def test_failed_callback_ends_failed_with_its_code(api: Api, twilio: Twilio,
                                                   brand: Brand) -> None:
    cid, sids = _sent(api, brand, [ANN])
    twilio.status(sids[ANN], "failed", "30008")
    assert _state(cid, ANN) == ("FAILED", "30008")


def test_a_late_sent_or_queued_never_overwrites_delivered(api: Api, twilio: Twilio,
                                                          brand: Brand) -> None:
    cid, sids = _sent(api, brand, [ANN])
    twilio.status(sids[ANN], "delivered")
    for late in ("queued", "sent", "undelivered"):
        assert twilio.status(sids[ANN], late, "30003" if late == "undelivered" else None)[
            0] == 200
    assert _state(cid, ANN) == ("DELIVERED", None)


def test_responded_is_never_downgraded_by_a_callback(api: Api, twilio: Twilio,
                                                     brand: Brand) -> None:
    cid, sids = _sent(api, brand, [ANN])
    twilio.reply(ANN, brand.sms_number, "Tell me more")
    twilio.status(sids[ANN], "delivered")
    twilio.status(sids[ANN], "undelivered", "30003")
    message = messages.get(cid, ANN)
    assert message is not None and message.status == "RESPONDED"
    assert message.delivered_at  # it learns when it was delivered


def test_a_retried_callback_has_effect_once(api: Api, twilio: Twilio, brand: Brand) -> None:
    cid, sids = _sent(api, brand, [ANN])
    twilio.status(sids[ANN], "undelivered", "30003")
    twilio.status(sids[ANN], "delivered")  # the carrier got there after all
    twilio.status(sids[ANN], "undelivered", "30003")  # the first one, retried
    assert _state(cid, ANN) == ("DELIVERED", None)


def test_a_callback_before_the_send_was_recorded_is_applied_when_it_is(
        api: Api, twilio: Twilio, brand: Brand) -> None:
    # Given a message being sent: claimed, the gateway took it, our SENT not yet recorded
    from chalicelib.services import jobs
    from tests.conftest import campaign_body

    status, body = api.call("POST", "/campaigns", brand, json_body=campaign_body())
    cid = body["id"]
    api.call("POST", f"/campaigns/{cid}/recipients", brand, body=ANN, content_type="text/plain")
    api.call("POST", f"/campaigns/{cid}/launch", brand, json_body={"consent": True})
    jobs.launch(brand.brand_id, cid)
    attempt, sid = uuid.uuid4().hex, "SM" + uuid.uuid4().hex
    assert messages.claim(cid, ANN, attempt, 0, 120) is not None
    pump_stream()

    # When the delivery report comes first
    assert twilio.status(sid, "delivered")[0] == 200
    assert _state(cid, ANN)[0] == "SENDING"

    # Then recording the send applies it (the stream consumer sees the message become SENT)
    assert messages.record_sent(cid, ANN, attempt, sid, "sms", 1.0)
    pump_stream()
    assert _state(cid, ANN) == ("DELIVERED", None)


def test_callback_after_the_stream_saw_the_send_but_before_the_index_did(
        api: Api, twilio: Twilio, brand: Brand) -> None:
    # The other order of the race: the send is recorded and seen by the stream consumer, the
    # callback still misses it on the index (eventually consistent): the marker carries it.
    from chalicelib.services import delivery
    from chalicelib.store import markers

    cid, sids = _sent(api, brand, [BOB])
    sid = "SM" + uuid.uuid4().hex
    markers.record_send(sid, cid, BOB, 1.0)  # what the stream consumer wrote
    assert delivery.apply_status(sid, "undelivered", "30005", 2.0) == "applied"
    assert _state(cid, BOB) == ("UNDELIVERED", "30005")
