"""The compatible API's pure parts: HS256 tokens (checked against PyJWT where it is installed),
the status mapping and the create body's checks."""

from __future__ import annotations

import pytest

from chalicelib.lp import jwt, mapping, schemas
from chalicelib.lp.errors import LpError

KEY = b"k" * 32
CLAIMS = {"aud": "acme", "azp": "client", "scope": "s", "iss": "i", "iat": 100, "exp": 3700}


def test_a_token_round_trips_and_expires_at_exp() -> None:
    token = jwt.encode(CLAIMS, KEY)
    assert jwt.decode(token, KEY, now=3699) == CLAIMS
    with pytest.raises(jwt.TokenError) as expired:
        jwt.decode(token, KEY, now=3700)
    assert expired.value.expired and expired.value.message == "jwt expired"


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature
    lambda t: t.split(".")[0] + ".eyJleHAiOjk5OTk5OTk5OTl9." + t.split(".")[2],  # claims
    lambda t: "eyJhbGciOiJub25lIn0." + t.split(".", 1)[1],  # alg none
    lambda t: t + ".x", lambda t: "", lambda t: "a.b.c", lambda t: "a.b!.c",
])
def test_forged_or_garbled_tokens_are_refused(mangle: object) -> None:
    token = jwt.encode(CLAIMS, KEY)
    with pytest.raises(jwt.TokenError) as refused:
        jwt.decode(mangle(token), KEY, now=200)  # type: ignore[operator]
    assert not refused.value.expired
    with pytest.raises(jwt.TokenError):
        jwt.decode(token, b"another key", now=200)


def test_tokens_agree_with_pyjwt() -> None:
    pyjwt = pytest.importorskip("jwt")
    token = jwt.encode(CLAIMS, KEY)
    assert pyjwt.decode(token, KEY, algorithms=["HS256"], audience="acme",
                        options={"verify_exp": False}) == CLAIMS
    theirs = pyjwt.encode(CLAIMS, KEY, algorithm="HS256")
    assert jwt.decode(theirs, KEY, now=200) == CLAIMS


def test_our_statuses_as_livepersons() -> None:
    assert {s: mapping.recipient_status(s) for s in ("SENT", "DELIVERED", "PENDING", "QUEUED",
                                                     "SCHEDULED", "SKIPPED", "FAILED")} == {
        "SENT": "DELIVERED", "DELIVERED": "DELIVERED", "PENDING": "NOT_SENT",
        "QUEUED": "NOT_SENT", "SCHEDULED": "SCHEDULED", "SKIPPED": "SKIPPED",
        "FAILED": "FAILED"}
    assert mapping.campaign_status("COMPLETED") == "FINISHED"
    assert mapping.consumer_id("cmp_1", "+12125550101") == mapping.consumer_id(
        "cmp_1", "+12125550101") != mapping.consumer_id("cmp_2", "+12125550101")


def test_scheduling_windows_become_one_daily_window() -> None:
    request = schemas.parse_create({
        "campaignName": "n", "skill": "s", "templateId": "1234567890",
        "outboundNumber": "12125550100", "consent": True, "consumers": [],
        "schedulingMetrics": {"windows": [
            {"startTime": {"hour": 9, "minute": 30}, "endTime": {"hour": 17, "minute": 0},
             "day": "MONDAY"},
            {"startTime": {"hour": 8, "minute": 0}, "endTime": {"hour": 21, "minute": 0},
             "day": "tuesday"}]}})
    assert request.window is not None
    assert (request.window.start, request.window.end) == ("08:00", "21:00")
    assert request.days == ["MONDAY", "TUESDAY"] and request.outbound_number == "+12125550100"
    with pytest.raises(LpError) as bad:
        schemas.parse_create({"campaignName": "n", "skill": "s", "templateId": "1",
                              "outboundNumber": "1", "consent": True, "consumers": []})
    assert bad.value.status == 400 and "outboundNumber" in bad.value.message
