"""Defects schemathesis found against the document (tests/contract/test_fuzz.py), each kept as
a plain service test: bad input is a 400 naming the field, never a 500 or a silent change."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api, Brand, campaign_body


def field_of(answer: dict[str, Any]) -> str:
    return str(answer["error"]["details"][0]["field"])


def test_a_send_rate_too_small_to_store_is_a_400_naming_it(api: Api, brand: Brand) -> None:
    # 5e-324 passed `gt=0` and failed in DynamoDB: a 500.
    body = campaign_body(schedule={"send_rate": 5e-324})
    status, answer = api.call("POST", "/campaigns", brand, json_body=body)
    assert status == 400 and field_of(answer) == "schedule.send_rate"


def test_a_null_number_rate_is_a_400_not_a_500(api: Api, brand: Brand) -> None:
    # {"rate": null} counted as a change and reached the store as an empty update: a 500.
    status, answer = api.call("PATCH", "/numbers/%2B12125550100", brand, role="admin",
                              json_body={"rate": None})
    assert status == 400 and field_of(answer) == "rate"


def test_a_null_brand_name_is_refused_and_the_name_kept(api: Api, brand: Brand) -> None:
    # {"name": null} erased the brand's name (the answer then broke its own schema).
    status, answer = api.call("PUT", "/brand", brand, role="admin",
                              json_body={"name": None, "help_text": "Text HELP for help"})
    assert status == 400 and field_of(answer) == "name"
    status, settings = api.call("GET", "/brand", brand)
    assert status == 200 and settings["name"] == f"Brand {brand.brand_id}"


@pytest.mark.parametrize("start", ["08:00:00", "0800", "8:00"])
def test_a_window_time_is_exactly_hh_mm_as_documented(api: Api, brand: Brand,
                                                      start: str) -> None:
    body = campaign_body(schedule={"window": {"start": start, "end": "21:00"}})
    status, answer = api.call("POST", "/campaigns", brand, json_body=body)
    assert status == 400 and field_of(answer) == "schedule.window.start"


def test_launch_of_a_campaign_not_ready_is_a_conflict(api: Api, brand: Brand) -> None:
    # A valid request on a campaign whose state does not allow it: 409, not 400.
    status, created = api.call("POST", "/campaigns", brand, json_body=campaign_body())
    assert status == 201
    status, answer = api.call("POST", f"/campaigns/{created['id']}/launch", brand,
                              json_body={"consent": True})
    assert status == 409 and answer["error"]["code"] == "NO_RECIPIENTS"
