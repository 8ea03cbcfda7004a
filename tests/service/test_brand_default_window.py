"""The brand's default sending window (PUT /brand `window`) is where a new campaign starts."""

from __future__ import annotations

from tests.conftest import Api, Brand, campaign_body


def test_a_campaign_without_a_window_gets_the_brands_default_and_one_with_a_window_keeps_it(
        api: Api, brand: Brand) -> None:
    status, body = api.call("PUT", "/brand", brand, role="admin",
                            json_body={"window": {"start": "10:00", "end": "18:30"}})
    assert status == 200 and body["window"] == {"start": "10:00", "end": "18:30"}, body

    status, created = api.call("POST", "/campaigns", brand,
                               json_body=campaign_body(schedule={"send_rate": 2}))
    assert status == 201, created
    assert created["schedule"]["window"] == {"start": "10:00", "end": "18:30"}
    body = campaign_body()
    del body["schedule"]
    status, created = api.call("POST", "/campaigns", brand, json_body=body)
    assert status == 201 and created["schedule"]["window"] == {"start": "10:00", "end": "18:30"}

    status, chosen = api.call("POST", "/campaigns", brand, json_body=campaign_body())
    assert status == 201 and chosen["schedule"]["window"] == {"start": "00:00", "end": "24:00"}
    # A draft keeps the window it was given when the brand's default changes later
    api.call("PUT", "/brand", brand, role="admin",
             json_body={"window": {"start": "09:00", "end": "17:00"}})
    status, again = api.call("GET", f"/campaigns/{created['id']}", brand)
    assert again["schedule"]["window"] == {"start": "10:00", "end": "18:30"}


def test_the_brand_has_a_locale_for_its_dates(api: Api, brand: Brand) -> None:
    status, body = api.call("GET", "/brand", brand)
    assert status == 200 and body["locale"] == "en-US", body
    status, body = api.call("PUT", "/brand", brand, role="admin", json_body={"locale": "en-GB"})
    assert status == 200 and body["locale"] == "en-GB", body
    status, body = api.call("PUT", "/brand", brand, role="admin", json_body={"locale": "british"})
    assert status == 400 and body["error"]["details"][0]["field"] == "locale", body
