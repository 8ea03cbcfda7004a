"""Pagination cursors are opaque and tamper-proof: a cursor shows nothing of the key it stands
for (no phone number), and one that was altered, forged, or made for another brand's or another
list's page is refused with 400 INVALID_CURSOR on every paged endpoint."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest

from tests.conftest import Api, Brand, campaign_body

PHONES = ["+12125550131", "+12125550132", "+12125550133"]


def forged(key: dict[str, object]) -> str:
    """A cursor in the old format (base64 JSON of DynamoDB's LastEvaluatedKey)."""
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def flip(cursor: str) -> str:
    """The cursor with one character in its middle changed."""
    middle = len(cursor) // 2
    return cursor[:middle] + ("A" if cursor[middle] != "A" else "B") + cursor[middle + 1:]


def assert_invalid_cursor(status: int, body: object) -> None:
    assert status == 400, body
    assert isinstance(body, dict) and body["error"]["code"] == "INVALID_CURSOR", body
    assert "cursor" in body["error"]["message"]


def draft_with_recipients(api: Api, brand: Brand) -> str:
    status, body = api.call("POST", "/campaigns", brand, json_body=campaign_body())
    assert status == 201, body
    cid = str(body["id"])
    status, body = api.call("POST", f"/campaigns/{cid}/recipients", brand,
                            body="\n".join(PHONES), content_type="text/plain")
    assert status == 200, body
    return cid


def first_cursor(api: Api, brand: Brand, path: str, role: str = "campaign_manager") -> str:
    status, body = api.call("GET", f"{path}{'&' if '?' in path else '?'}limit=1", brand, role)
    assert status == 200 and body["next_cursor"], body
    return str(body["next_cursor"])


# Every paged endpoint, with the role that may read it; {cid} is a campaign of the brand.
PAGED = [
    ("/campaigns", "campaign_manager"),
    ("/campaigns/{cid}/messages", "campaign_manager"),
    ("/campaigns/{cid}/messages?status=QUEUED", "campaign_manager"),
    ("/campaigns/{cid}/recipients", "campaign_manager"),
    ("/campaigns/{cid}/recipients?errors=true", "campaign_manager"),
    ("/audit", "admin"),
    ("/optouts", "admin"),
    ("/optouts?format=csv", "admin"),
    ("/conversations", "agent"),
    ("/conversations?status=open", "agent"),
    ("/templates", "campaign_manager"),
]


@pytest.mark.parametrize(("path", "role"), PAGED)
def test_every_paged_endpoint_refuses_a_forged_or_garbled_cursor(
        api: Api, brand: Brand, path: str, role: str) -> None:
    cid = draft_with_recipients(api, brand)
    url = path.format(cid=cid) + ("&" if "?" in path else "?") + "cursor="
    for cursor in (forged({"brand_id": {"S": brand.brand_id}, "x": {"N": "not a number"}}),
                   forged({"campaign_id": {"S": cid}, "phone": {"S": PHONES[0]}}),
                   "not-a-cursor", "%%%"):
        status, body = api.call("GET", url + quote(cursor), brand, role)
        assert_invalid_cursor(status, body)


def test_a_cursor_holds_no_phone_number_and_an_altered_one_is_refused(api: Api,
                                                                      brand: Brand) -> None:
    cid = draft_with_recipients(api, brand)
    for path in (f"/campaigns/{cid}/messages", f"/campaigns/{cid}/recipients"):
        cursor = first_cursor(api, brand, path)
        padded = cursor + "=" * (-len(cursor) % 4)
        for text in (cursor, base64.urlsafe_b64decode(padded.split(".")[-1] + "==")
                     .decode("latin-1")):
            assert not any(p.lstrip("+") in text for p in PHONES), text
            assert "555" not in text and "phone" not in text
        status, body = api.call("GET", f"{path}?limit=1&cursor={quote(cursor)}", brand)
        assert status == 200 and len(body["items"]) == 1  # the real one still works
        status, body = api.call("GET", f"{path}?limit=1&cursor={quote(flip(cursor))}", brand)
        assert_invalid_cursor(status, body)


def test_an_opt_out_cursor_holds_no_phone_number(api: Api, brand: Brand) -> None:
    for phone in PHONES:
        assert api.call("PUT", f"/optouts/{quote(phone)}", brand, "admin")[0] == 201
    cursor = first_cursor(api, brand, "/optouts", "admin")
    padded = cursor.split(".")[-1] + "=" * (-len(cursor.split(".")[-1]) % 4)
    decoded = base64.urlsafe_b64decode(padded).decode("latin-1")
    assert not any(p.lstrip("+") in cursor + decoded for p in PHONES)


def test_another_brands_cursor_is_refused(api: Api, brand: Brand, other_brand: Brand) -> None:
    for _ in range(2):
        api.call("POST", "/campaigns", other_brand,
                 json_body=campaign_body(from_number=other_brand.sms_number))
    theirs = first_cursor(api, other_brand, "/campaigns")
    status, body = api.call("GET", f"/campaigns?cursor={quote(theirs)}", brand)
    assert_invalid_cursor(status, body)


def test_a_cursor_of_another_list_is_refused(api: Api, brand: Brand) -> None:
    first, second = draft_with_recipients(api, brand), draft_with_recipients(api, brand)
    cursor = first_cursor(api, brand, f"/campaigns/{first}/messages")
    status, body = api.call("GET", f"/campaigns/{second}/messages?cursor={quote(cursor)}", brand)
    assert_invalid_cursor(status, body)
    status, body = api.call("GET", f"/audit?cursor={quote(cursor)}", brand, "admin")
    assert_invalid_cursor(status, body)
